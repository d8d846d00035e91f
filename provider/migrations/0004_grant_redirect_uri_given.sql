-- Whether the authorization request named its redirect_uri (RFC 6749 §4.1.3:
-- then the token request must repeat it; §3.1.2.3: it may be omitted when the
-- application has exactly one). Codes issued before this migration named it.
ALTER TABLE grants ADD COLUMN redirect_uri_given BIGINT NOT NULL DEFAULT 1;
