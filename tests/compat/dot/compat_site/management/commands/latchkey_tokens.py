"""Prints the refresh tokens of one user as JSON: how many, how many revoked, and whether
all their access tokens are gone (what the e2e test checks after refresh and logout)."""
import json

from django.core.management.base import BaseCommand
from oauth2_provider.models import get_access_token_model, get_refresh_token_model


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)

    def handle(self, *args, **options):
        refresh = get_refresh_token_model().objects.filter(user__username=options["username"])
        access = get_access_token_model().objects.filter(user__username=options["username"])
        self.stdout.write(
            json.dumps(
                {
                    "refresh_tokens": refresh.count(),
                    "refresh_revoked": refresh.exclude(revoked=None).count(),
                    "access_tokens": access.count(),
                }
            )
        )
