//! First-run seeding, idempotent: the staff user `admin`/`admin`, the BFF's confidential
//! application (its secret kept in a 0600 file and reused), the CLI's public `test` app.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::Context as _;
use latchkey_provider::management;
use latchkey_provider::model::{AppGrant, Application, ClientType};
use latchkey_provider::password::Password;
use latchkey_provider::secret::PlainToken;
use latchkey_provider::storage::{AppFields, Db};

use crate::cli::SeedArgs;

pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin";
pub const BFF_CLIENT_ID: &str = "latchkey-demo-bff";
pub const CLI_CLIENT_ID: &str = "test";

/// `latchkey-demo seed`: seeds and exits (docker compose).
pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let db = Db::connect(&args.database_url).await?;
    seed(&db, &args.redirect_uri, &args.secret_file).await?;
    db.close().await;
    println!(
        "seeded: user {ADMIN_USERNAME}, apps {BFF_CLIENT_ID} and {CLI_CLIENT_ID}; BFF secret in {}",
        args.secret_file.display()
    );
    Ok(())
}

/// Seeds what is missing; returns the BFF's client secret.
pub async fn seed(db: &Db, redirect_uri: &str, secret_file: &Path) -> anyhow::Result<String> {
    ensure_admin(db).await?;
    ensure_cli_app(db).await?;
    ensure_bff_app(db, redirect_uri, secret_file).await
}

async fn ensure_admin(db: &Db) -> anyhow::Result<()> {
    if db.user_by_username(ADMIN_USERNAME).await?.is_none() {
        let groups = ["demo".to_owned(), "staff".to_owned()];
        management::create_user(
            db,
            ADMIN_USERNAME,
            &Password::new(ADMIN_PASSWORD),
            "",
            true,
            &groups,
        )
        .await?;
        tracing::info!("created user {ADMIN_USERNAME}");
    }
    Ok(())
}

async fn ensure_cli_app(db: &Db) -> anyhow::Result<()> {
    if db.application_by_client_id(CLI_CLIENT_ID).await?.is_none() {
        let fields = app_fields(CLI_CLIENT_ID, ClientType::Public, AppGrant::Password, "CLI");
        management::create_application(db, fields, None).await?;
        tracing::info!("created application {CLI_CLIENT_ID}");
    }
    Ok(())
}

/// The BFF's OpenID logout settings, from its redirect URI's origin: the SPA's page after
/// the provider's logout (`<origin>/`, the BFF's default `--post-logout-redirect-uri`) and
/// the BFF's back-channel receiver (`<origin>/auth/backchannel-logout`), so signing out at
/// the provider signs the SPA out. Written on every seed (a new port, a new origin).
async fn ensure_logout_settings(db: &Db, redirect_uri: &str) -> anyhow::Result<()> {
    let app = db
        .application_by_client_id(BFF_CLIENT_ID)
        .await?
        .context("the BFF's app exists")?;
    let origin = url::Url::parse(redirect_uri)
        .context("--redirect-uri")?
        .origin()
        .ascii_serialization();
    let settings = latchkey_provider::oidc::registration::parse(
        &format!("{origin}/"),
        &format!("{origin}/auth/backchannel-logout"),
    )?;
    latchkey_provider::oidc::registration::save(db, &app.id, &settings).await?;
    Ok(())
}

async fn ensure_bff_app(db: &Db, redirect_uri: &str, secret_file: &Path) -> anyhow::Result<String> {
    let secret = ensure_bff_secret(db, redirect_uri, secret_file).await?;
    ensure_logout_settings(db, redirect_uri).await?;
    Ok(secret)
}

async fn ensure_bff_secret(
    db: &Db,
    redirect_uri: &str,
    secret_file: &Path,
) -> anyhow::Result<String> {
    let Some(app) = db.application_by_client_id(BFF_CLIENT_ID).await? else {
        let mut fields = app_fields(
            BFF_CLIENT_ID,
            ClientType::Confidential,
            AppGrant::AuthorizationCode,
            "Latchkey demo SPA (BFF)",
        );
        fields.redirect_uris = vec![redirect_uri.to_owned()];
        fields.skip_authorization = true;
        let (_, secret) = management::create_application(db, fields, None).await?;
        let secret = secret.context("a confidential app gets a secret")?;
        tracing::info!("created application {BFF_CLIENT_ID}");
        return keep_secret(secret_file, secret.expose());
    };
    ensure_redirect_uri(db, &app, redirect_uri).await?;
    match read_secret(secret_file) {
        Some(secret) if matches_app(&app, &secret) => Ok(secret),
        _ => {
            // The file is gone or stale (database reset): issue a new secret.
            let secret = management::rotate_secret(db, &app).await?;
            tracing::info!("rotated the secret of {BFF_CLIENT_ID}");
            keep_secret(secret_file, secret.expose())
        }
    }
}

/// Another listen port means another redirect URI: register it too.
async fn ensure_redirect_uri(db: &Db, app: &Application, uri: &str) -> anyhow::Result<()> {
    if app.redirect_uris.iter().any(|u| u == uri) {
        return Ok(());
    }
    let mut fields = fields_of(app);
    fields.redirect_uris.push(uri.to_owned());
    db.update_application(&app.id, &fields).await?;
    tracing::info!("registered redirect URI {uri} for {BFF_CLIENT_ID}");
    Ok(())
}

fn matches_app(app: &Application, secret: &str) -> bool {
    app.client_secret_hash
        .as_ref()
        .is_some_and(|hash| PlainToken::from_client(secret).hash().matches(hash))
}

fn read_secret(path: &Path) -> Option<String> {
    let secret = std::fs::read_to_string(path).ok()?;
    Some(secret.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Writes the secret to `path`, readable by its owner only.
fn keep_secret(path: &Path, secret: &str) -> anyhow::Result<String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{secret}")?;
    Ok(secret.to_owned())
}

fn app_fields(client_id: &str, client_type: ClientType, grant: AppGrant, name: &str) -> AppFields {
    AppFields {
        client_id: client_id.to_owned(),
        client_type,
        grant,
        name: name.to_owned(),
        redirect_uris: Vec::new(),
        skip_authorization: false,
        require_pkce: false,
        allowed_scopes: None,
        user_id: None,
        is_resource_server: false,
    }
}

fn fields_of(app: &Application) -> AppFields {
    AppFields {
        client_id: app.client_id.clone(),
        client_type: app.client_type,
        grant: app.grant,
        name: app.name.clone(),
        redirect_uris: app.redirect_uris.clone(),
        skip_authorization: app.skip_authorization,
        require_pkce: app.require_pkce,
        allowed_scopes: app.allowed_scopes.clone(),
        user_id: app.user_id.clone(),
        is_resource_server: app.is_resource_server,
    }
}
