-- OpenID Connect (issue 13).
--
-- Signing keys for ID Tokens and logout tokens, shared by every process (so several
-- processes on one PostgreSQL sign with the same key and publish the same JWKS).
-- `private_key` is the PKCS#8 DER sealed with ChaCha20-Poly1305 under a key derived
-- (HKDF-SHA256) from the server key 'signing-keys' (server_keys, migration 0005), the
-- kid as associated data; `public_jwk` is the JWK served at jwks.json. The newest key
-- signs; a rotated key stays published until `publish_until` (its last token expired).
CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_key   TEXT NOT NULL,
    public_jwk    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    publish_until BIGINT
);

-- The login session's public id (the ID Token's and logout token's `sid`); the
-- session's created_at is its auth_time. Sessions from before this migration get one
-- derived from their row on first use (see storage/oidc.rs).
ALTER TABLE web_sessions ADD COLUMN sid TEXT;
CREATE INDEX web_sessions_sid ON web_sessions (sid);

-- What the authorization request carried for the ID Token: the nonce (echoed once, in
-- the code's ID Token), and the login session the code was issued in (auth_time, sid;
-- refreshes repeat them, back-channel logout finds the apps of a session by sid).
ALTER TABLE grants ADD COLUMN nonce TEXT;
ALTER TABLE grants ADD COLUMN auth_time BIGINT;
ALTER TABLE grants ADD COLUMN sid TEXT;
CREATE INDEX grants_sid ON grants (sid);

-- An application's logout settings (RP-Initiated Logout 1.0, Back-Channel Logout 1.0).
CREATE TABLE oidc_clients (
    application_id            TEXT PRIMARY KEY REFERENCES applications(id) ON DELETE CASCADE,
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '',
    backchannel_logout_uri    TEXT,
    backchannel_logout_session_required BIGINT NOT NULL DEFAULT 0
);

-- Back-channel logout notifications waiting to be sent: one per ended session and
-- app. A sender claims a row (claimed_until) with one conditional UPDATE, so with
-- several processes exactly one sends it; a crashed sender's claim lapses.
CREATE TABLE logout_outbox (
    sid             TEXT NOT NULL,
    application_id  TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (sid, application_id)
);
