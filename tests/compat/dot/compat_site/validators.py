from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    """Adds profile claims to the ID Token and userinfo; userinfo also says where it came from,
    so the test can tell userinfo from the ID Token fallback."""

    # Every claim below goes out with the `openid` scope alone.
    oidc_claim_scope = None

    def get_additional_claims(self, request):
        return {
            "preferred_username": request.user.username,
            "email": request.user.email,
        }

    def get_userinfo_claims(self, request):
        claims = super().get_userinfo_claims(request)
        claims["source"] = "userinfo"
        return claims
