"""An OpenID Connect relying party built on Authlib (a library nobody here wrote), run
against Latchkey's provider by tests/tests/e2e/authlib_rp.rs.

Discovery, the code flow with PKCE (S256) and a nonce, the ID Token verified against the
JWKS with Authlib's jose (signature, iss, aud, exp, nonce, at_hash), UserInfo, and
RP-initiated logout back to the registered post-logout URI with its state. The user's
part (the provider's login form) is driven with plain HTTP, as a browser would.

Usage: rp.py ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI USERNAME PASSWORD
Prints one JSON object with what it saw; exits non-zero on any failure.
"""

import json
import os
import re
import sys
from urllib.parse import parse_qs, urljoin, urlparse

# The provider runs on http://127.0.0.1 in the test; Authlib refuses plain http otherwise.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

import requests  # noqa: E402
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def main():
    issuer, client_id, secret, redirect_uri, post_logout, username, password = sys.argv[1:8]
    origin = "{0.scheme}://{0.netloc}".format(urlparse(issuer))

    # OpenID Connect Discovery 1.0 §4.
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    check(meta["issuer"] == issuer, "discovery issuer")
    check("S256" in meta["code_challenge_methods_supported"], "PKCE S256 advertised")

    client = OAuth2Session(
        client_id,
        secret,
        scope="openid profile email",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    nonce = generate_token(20)
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier
    )

    # The user: a browser with cookies, signing in on the provider's form.
    browser = requests.Session()
    r = browser.get(url, allow_redirects=False, timeout=10)
    check(r.status_code == 302, "authorize redirects to the login page: %d" % r.status_code)
    login_url = urljoin(issuer + "/", r.headers["Location"])
    page = browser.get(login_url, timeout=10).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    nxt = parse_qs(urlparse(login_url).query)["next"][0]
    r = browser.post(
        urljoin(issuer + "/", "/accounts/login/"),
        data={"username": username, "password": password, "next": nxt, "csrfmiddlewaretoken": csrf},
        headers={"Origin": origin},
        allow_redirects=False,
        timeout=10,
    )
    check(r.status_code == 303, "login accepted: %d" % r.status_code)
    r = browser.get(urljoin(issuer + "/", r.headers["Location"]), allow_redirects=False, timeout=10)
    check(r.status_code == 302, "authorize sends the code back: %d" % r.status_code)
    callback = r.headers["Location"]
    check(callback.startswith(redirect_uri), "to the registered redirect URI")

    # Back at the RP: state checked by Authlib, the code exchanged with the verifier.
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    check("id_token" in token, "an id_token in the token response")

    # The ID Token: verified against the JWKS, claims validated (iss, aud, exp, iat,
    # nonce, at_hash) by Authlib's OpenID Connect rules.
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    check(claims["aud"] == client_id, "aud")
    check(claims["nonce"] == nonce, "nonce echoed")
    check("at_hash" in claims and "sid" in claims and "auth_time" in claims, "at_hash, sid, auth_time")

    # A token with another nonce must be refused by the same checks.
    forged = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": "another", "client_id": client_id},
    )
    try:
        forged.validate()
        fail("a wrong nonce passed validation")
    except Exception:
        pass

    # UserInfo (OIDC Core §5.3) with the access token.
    info = client.get(meta["userinfo_endpoint"], timeout=10).json()
    check(info["sub"] == claims["sub"], "userinfo sub is the ID Token's")
    check(info.get("preferred_username") == username, "profile claims")

    # RP-Initiated Logout 1.0: back to the registered URI with our state.
    logout_state = generate_token(16)
    r = browser.get(
        meta["end_session_endpoint"],
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": post_logout,
            "state": logout_state,
        },
        allow_redirects=False,
        timeout=10,
    )
    check(r.status_code == 302, "logout redirects: %d %s" % (r.status_code, r.text[:200]))
    back = r.headers["Location"]
    check(back.startswith(post_logout), "to the post-logout URI: " + back)
    check(parse_qs(urlparse(back).query).get("state") == [logout_state], "logout state echoed")
    # The provider session is gone: authorizing again asks for a login.
    r = browser.get(url, allow_redirects=False, timeout=10)
    check("/accounts/login/" in r.headers.get("Location", ""), "signed out at the provider")

    print(json.dumps({"ok": True, "sub": claims["sub"], "sid": claims["sid"], "alg": jwt_alg(token["id_token"])}))


def jwt_alg(token):
    import base64

    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["alg"]


if __name__ == "__main__":
    main()
