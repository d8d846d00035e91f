-- Keys every provider process shares (e.g. the one CSRF tokens are signed with),
-- created at first start. Random, never shown.
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
