//! The device authorization grant (RFC 8628): a device without a browser gets a
//! device code and a user code (§3.1–§3.2); the user signs in elsewhere, types the
//! user code and approves (§3.3); the device polls the token endpoint meanwhile
//! (`grants::device_code`, §3.4–§3.5).
//!
//! Guessing user codes is bounded by the provider's throttle counters (shared by
//! every process through the database): each wrong code counts against the
//! client IP (`--device-max-failures-per-ip`, 20 by default) and against everyone
//! (`--device-max-failures`, 1000), per throttle window (`--throttle-window-seconds`,
//! 300). With 1000 live codes the global bound gives a guesser at most
//! 1000 × 1000 / 20⁸ ≈ 4 × 10⁻⁵ chances per window. (The price: a flood from many
//! addresses can lock code entry for everyone until the window closes.)

pub mod user_code;

use std::net::IpAddr;

use latchkey_shared::DeviceAuthorizationResponse;

use crate::AuthServer;
use crate::error::OAuthError;
use crate::model::{Application, User};
use crate::scope::Scopes;
use crate::secret::{PlainToken, prefix};
use crate::storage::device_codes::{DeviceStatus, NewDeviceCode};
use crate::storage::throttle::ThrottleKey;
use crate::storage::{StorageError, new_id, now};
use crate::throttle::Throttled;
pub use user_code::UserCode;

/// Where the user enters the code (§3.2 `verification_uri`).
pub const VERIFICATION_PATH: &str = "/oauth2/device/";

/// §3.1–§3.2: a new request for an authenticated client allowed the device grant.
/// Each is counted per client IP (`--device-max-requests-per-ip` per throttle
/// window): a public `client_id` is no secret, and every request is a stored row.
pub async fn start(
    server: &AuthServer,
    app: &Application,
    requested: Option<&Scopes>,
    ip: IpAddr,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    let scope = crate::grants::resolve_scope(server, app, requested)?;
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "no scope is available to this application",
        ));
    }
    let s = server.settings.device;
    let key = ThrottleKey {
        key: format!("device-start-ip:{ip}"),
        limit: s.max_requests_per_ip,
    };
    let window = server.settings.throttle.window_seconds;
    if let Some(closes_at) = server.db.throttle_reserve(&[key], window).await? {
        crate::metrics::count_throttled("device_authorization");
        return Err(OAuthError::throttled(closes_at - now()));
    }
    let device_code = PlainToken::generate(prefix::DEVICE_CODE);
    // A taken user code (a live or recently expired request's) is drawn again.
    for _ in 0..5 {
        let user_code = UserCode::generate();
        let row = NewDeviceCode {
            id: &new_id(),
            device_code: &device_code.hash(),
            user_code: &user_code.hash(),
            application_id: &app.id,
            scope: &scope,
            interval_seconds: s.interval_seconds,
            expires_at: now() + s.expire_seconds,
        };
        match server.db.insert_device_code(&row).await {
            Ok(()) => {
                let uri = format!("{}{VERIFICATION_PATH}", server.settings.issuer);
                return Ok(DeviceAuthorizationResponse {
                    device_code: device_code.expose().to_owned(),
                    verification_uri_complete: Some(format!(
                        "{uri}?user_code={}",
                        user_code.display()
                    )),
                    user_code: user_code.display(),
                    verification_uri: uri,
                    expires_in: s.expire_seconds,
                    interval: Some(s.interval_seconds),
                });
            }
            Err(StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StorageError::Conflict("user code").into())
}

/// A pending request, as the user sees it before deciding.
#[derive(Debug)]
pub struct Pending {
    pub app: Application,
    pub scope: Scopes,
    pub user_code: UserCode,
}

#[derive(Debug)]
pub enum EntryError {
    /// Not a code, or no pending live request has it (counted).
    Unknown,
    Throttled(Throttled),
    Storage(StorageError),
}

impl From<StorageError> for EntryError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

/// The pending request `input` names. Every lookup is reserved on the throttle
/// first; a wrong code stays counted, a right one is given back.
pub async fn find(server: &AuthServer, input: &str, ip: IpAddr) -> Result<Pending, EntryError> {
    // Not in the alphabet: it cannot match, so there is nothing to count.
    let code = UserCode::parse(input).ok_or(EntryError::Unknown)?;
    let s = server.settings.device;
    let keys = [
        ThrottleKey {
            key: format!("device-ip:{ip}"),
            limit: s.max_failures_per_ip,
        },
        ThrottleKey {
            key: "device:all".to_owned(),
            limit: s.max_failures,
        },
    ];
    let window = server.settings.throttle.window_seconds;
    if let Some(closes_at) = server.db.throttle_reserve(&keys, window).await? {
        crate::metrics::count_throttled("device_code");
        return Err(EntryError::Throttled(Throttled {
            retry_after: (closes_at - now()).max(1),
        }));
    }
    let found = match server.db.device_code_by_user_code(&code.hash()).await? {
        Some(d) if d.status == DeviceStatus::Pending && d.expires_at > now() => server
            .db
            .application_by_id(&d.application_id)
            .await?
            .map(|app| Pending {
                app,
                scope: d.scope,
                user_code: code,
            }),
        _ => None,
    };
    let Some(pending) = found else {
        return Err(EntryError::Unknown);
    };
    let [a, b] = keys.map(|k| k.key);
    server.db.throttle_release(&[], &[a, b]).await?;
    Ok(pending)
}

/// The signed-in user approves or denies the request `input` names (§3.3). An
/// approval is remembered as the user's consent to the app.
pub async fn decide(
    server: &AuthServer,
    user: &User,
    input: &str,
    approve: bool,
    ip: IpAddr,
) -> Result<Pending, EntryError> {
    let pending = find(server, input, ip).await?;
    if !server
        .db
        .decide_device_code(&pending.user_code.hash(), &user.id, approve)
        .await?
    {
        // Decided by someone else, or expired, in between.
        return Err(EntryError::Unknown);
    }
    if approve {
        crate::consent::remember(server, user, &pending.app, &pending.scope).await?;
    }
    Ok(pending)
}
