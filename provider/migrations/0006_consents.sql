-- Remembered consent: the scopes a user has granted an application. The consent
-- page is shown again only for scopes not among them (src/consent.rs). Kept until
-- the user revokes the app on /oauth2/authorized_tokens/.
CREATE TABLE consents (
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (user_id, application_id)
);
CREATE INDEX consents_application ON consents (application_id);

-- Device authorization requests (RFC 8628 §3.1–§3.5). Both codes are stored only
-- as SHA-256 digests. status: pending → approved | denied (by the user at
-- /oauth2/device/) → used (tokens issued, once). interval_seconds starts at the
-- server's interval and grows by 5 on each slow_down (§3.5); last_polled_ms is the
-- last poll's time in milliseconds.
CREATE TABLE device_codes (
    id               TEXT PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash   TEXT NOT NULL UNIQUE,
    application_id   TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    status           TEXT NOT NULL,
    user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
    interval_seconds BIGINT NOT NULL,
    last_polled_ms   BIGINT,
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
