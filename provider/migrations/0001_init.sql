-- One schema for SQLite and PostgreSQL: TEXT ids (random), BIGINT unix seconds,
-- BIGINT 0/1 flags. Every secret value (client secret, code, token, session id)
-- is stored only as its SHA-256 hex digest.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    is_staff      BIGINT NOT NULL DEFAULT 0,
    is_active     BIGINT NOT NULL DEFAULT 1,
    groups        TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);

CREATE TABLE applications (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT,
    client_type        TEXT NOT NULL,
    grant_type         TEXT NOT NULL,
    name               TEXT NOT NULL DEFAULT '',
    redirect_uris      TEXT NOT NULL DEFAULT '',
    skip_authorization BIGINT NOT NULL DEFAULT 0,
    require_pkce       BIGINT NOT NULL DEFAULT 0,
    allowed_scopes     TEXT,
    user_id            TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at         BIGINT NOT NULL
);

-- Authorization codes (django-oauth-toolkit calls them "grants").
CREATE TABLE grants (
    id             TEXT PRIMARY KEY,
    code_hash      TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX grants_expires_at ON grants (expires_at);

CREATE TABLE access_tokens (
    id             TEXT PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id        TEXT REFERENCES users(id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    family_id      TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX access_tokens_family ON access_tokens (family_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
CREATE INDEX access_tokens_user ON access_tokens (user_id);
CREATE INDEX access_tokens_app ON access_tokens (application_id);

-- A family is every refresh token descended from one grant (code, password or
-- first issue); reuse of a rotated member revokes the family (RFC 9700 §4.14.2).
CREATE TABLE refresh_tokens (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    application_id  TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users(id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    family_id       TEXT NOT NULL,
    access_token_id TEXT,
    expires_at      BIGINT NOT NULL,
    rotated_at      BIGINT,
    revoked_at      BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_app ON refresh_tokens (application_id);

-- Logins to the provider's own pages (login form, consent, admin).
CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);

-- Failed-login counters shared by every provider process (password grant and login form).
CREATE TABLE throttle (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures     BIGINT NOT NULL
);

-- The example write API (/api/notes/).
CREATE TABLE notes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
