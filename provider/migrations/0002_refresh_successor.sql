-- The pair a rotation issued, sealed under a key derived from the old refresh
-- token (see src/successor.rs): a retry inside the grace window gets it back.
ALTER TABLE refresh_tokens ADD COLUMN successor TEXT;
