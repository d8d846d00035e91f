-- Applications allowed to introspect other applications' tokens (RFC 7662 §4);
-- every other client learns only about its own tokens.
ALTER TABLE applications ADD COLUMN is_resource_server BIGINT NOT NULL DEFAULT 0;
