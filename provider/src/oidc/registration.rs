//! An application's OpenID Connect logout settings, as an operator sets them
//! (`createapplication`, the admin): validated like redirect URIs.

use crate::management::ManagementError;
use crate::storage::Db;
use crate::storage::oidc::LogoutSettings;

/// Space-separated input → the settings, each URI checked: absolute, no fragment,
/// `https` or `http` on loopback (RFC 6749 §3.1.2 rules, as for redirect URIs); the
/// back-channel URI must be `http(s)` (the provider POSTs to it, §2.2) and may have
/// no fragment and a query (Back-Channel Logout §2.2 allows one).
pub fn parse(
    post_logout_redirect_uris: &str,
    backchannel_logout_uri: &str,
) -> Result<LogoutSettings, ManagementError> {
    let invalid = |m: String| ManagementError::Invalid(m);
    let uris: Vec<String> = post_logout_redirect_uris
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    for u in &uris {
        crate::redirect_uri::validate_registration(u)
            .map_err(|e| invalid(format!("post-logout redirect URI {e}")))?;
    }
    let bc = backchannel_logout_uri.trim();
    let backchannel = if bc.is_empty() {
        None
    } else {
        crate::redirect_uri::validate_registration(bc)
            .map_err(|e| invalid(format!("back-channel logout URI {e}")))?;
        if !(bc.starts_with("https://") || bc.starts_with("http://")) {
            return Err(invalid(format!(
                "back-channel logout URI {bc:?}: must be https (or http on loopback)"
            )));
        }
        Some(bc.to_owned())
    };
    Ok(LogoutSettings {
        post_logout_redirect_uris: uris,
        backchannel_logout_uri: backchannel,
        // `sid` is always sent, so a client that requires it is always served.
        backchannel_logout_session_required: false,
    })
}

pub async fn save(
    db: &Db,
    application_id: &str,
    s: &LogoutSettings,
) -> Result<(), ManagementError> {
    Ok(db.set_logout_settings(application_id, s).await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris_are_checked_like_redirect_uris() {
        assert!(
            super::parse(
                "https://a.example/bye http://127.0.0.1:9/x",
                "https://a.example/bc"
            )
            .is_ok()
        );
        assert!(super::parse("http://evil.example/", "").is_err());
        assert!(super::parse("https://a.example/#f", "").is_err());
        assert!(super::parse("relative/path", "").is_err());
        assert!(super::parse("", "com.example.app:/bc").is_err());
        assert!(super::parse("", "http://evil.example/bc").is_err());
        let s = super::parse("", "").expect("empty is fine");
        assert!(s.backchannel_logout_uri.is_none() && s.post_logout_redirect_uris.is_empty());
    }
}
