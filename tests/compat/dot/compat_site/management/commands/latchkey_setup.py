"""Creates the state: OIDC signing key (if missing), schema, one user, one confidential app."""
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model


class Command(BaseCommand):
    help = "Set up the compatibility provider"

    def add_arguments(self, parser):
        for name in ("username", "password", "client-id", "client-secret", "redirect-uri"):
            parser.add_argument(f"--{name}", required=True)

    def handle(self, *args, **options):
        settings.STATE.mkdir(parents=True, exist_ok=True)
        if not settings.KEY_FILE.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            settings.KEY_FILE.write_bytes(pem)
            settings.KEY_FILE.chmod(0o600)
        call_command("migrate", verbosity=0)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=options["username"], defaults={"email": f"{options['username']}@example.test"}
        )
        user.set_password(options["password"])
        user.save()
        application = get_application_model()
        application.objects.filter(client_id=options["client_id"]).delete()
        # DOT >= 2 hashes the secret on save: pass the plaintext here and keep it.
        application.objects.create(
            name="Latchkey BFF",
            user=user,
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            client_type=application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=options["redirect_uri"],
            skip_authorization=True,
            algorithm=application.RS256_ALGORITHM,
        )
        self.stdout.write("ready")
