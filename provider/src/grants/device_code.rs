//! Device access token request (RFC 8628 §3.4–§3.5): the device polls with its
//! device code until the user decides, then gets tokens once.

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::error::{ErrorCode, OAuthError};
use crate::issue::{Issue, issue};
use crate::model::Application;
use crate::secret::PlainToken;
use crate::storage::device_codes::DeviceStatus;
use crate::storage::now;

/// §3.5: each poll that comes sooner than the interval raises it by 5 seconds.
const SLOW_DOWN_STEP: i64 = 5;

pub async fn exchange(
    server: &AuthServer,
    app: &Application,
    device_code: &PlainToken,
) -> Result<TokenResponse, OAuthError> {
    // Another client's device code is unknown to this one (and stays usable).
    let Some(d) = server
        .db
        .device_code_for_client(&device_code.hash(), &app.id)
        .await?
    else {
        return Err(OAuthError::invalid_grant("invalid device_code"));
    };
    if d.status == DeviceStatus::Used {
        return Err(OAuthError::invalid_grant(
            "the device_code was already used",
        ));
    }
    if d.expires_at <= now() {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device_code has expired; start again",
        ));
    }
    match d.status {
        DeviceStatus::Denied => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied the request",
        )),
        DeviceStatus::Pending => {
            let at_ms = now_ms();
            let too_soon = d
                .last_polled_ms
                .is_some_and(|last| at_ms - last < d.interval_seconds * 1000);
            let raise = if too_soon { SLOW_DOWN_STEP } else { 0 };
            server.db.record_device_poll(&d.id, at_ms, raise).await?;
            Err(if too_soon {
                OAuthError::new(
                    ErrorCode::SlowDown,
                    format!(
                        "polling too often: wait {} seconds between requests",
                        d.interval_seconds + raise
                    ),
                )
            } else {
                OAuthError::new(
                    ErrorCode::AuthorizationPending,
                    "the user has not decided yet",
                )
            })
        }
        DeviceStatus::Approved => {
            // Single use: of parallel polls, only the one that claims it gets tokens.
            let Some(d) = server.db.claim_device_code(&d.id).await? else {
                return Err(OAuthError::invalid_grant(
                    "the device_code was already used",
                ));
            };
            let user_id = d.user_id.as_deref().unwrap_or_default();
            if server
                .db
                .user_by_id(user_id)
                .await?
                .is_none_or(|u| !u.is_active)
            {
                return Err(OAuthError::invalid_grant("the user is no longer active"));
            }
            Ok(issue(
                server,
                Issue {
                    app,
                    user_id: Some(user_id),
                    scope: &d.scope,
                    refresh_scope: Some(&d.scope),
                    family_id: &d.id,
                },
            )
            .await?)
        }
        DeviceStatus::Used => Err(OAuthError::invalid_grant(
            "the device_code was already used",
        )),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
