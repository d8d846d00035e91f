//! What the demo prints once both servers are up.

use std::fmt;
use std::path::PathBuf;

use crate::seed::{ADMIN_PASSWORD, ADMIN_USERNAME, CLI_CLIENT_ID};

pub struct Banner {
    /// The provider as the browser (and the BFF) reach it, e.g. `http://localhost:8000`.
    pub issuer: String,
    /// The BFF + SPA, e.g. `http://localhost:3000`.
    pub app: String,
    pub redis: bool,
    pub data_dir: PathBuf,
}

impl fmt::Display for Banner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Banner { issuer, app, .. } = self;
        let sessions = if self.redis {
            "Redis (REDIS_URL)"
        } else {
            "in memory (set REDIS_URL for Redis)"
        };
        writeln!(f, "bff listening on {app}")?;
        writeln!(f)?;
        writeln!(
            f,
            "  Open {app} and sign in as {ADMIN_USERNAME} / {ADMIN_PASSWORD}"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "  provider:  {issuer}  (metadata: {issuer}/.well-known/oauth-authorization-server)"
        )?;
        writeln!(
            f,
            "  admin:     {issuer}/admin/  (staff user {ADMIN_USERNAME} / {ADMIN_PASSWORD})"
        )?;
        writeln!(f, "  sessions:  {sessions}")?;
        writeln!(
            f,
            "  data:      {}  (delete it to start over)",
            self.data_dir.display()
        )?;
        writeln!(f, "  CLI password grant (public app \"{CLI_CLIENT_ID}\"):")?;
        writeln!(
            f,
            "    curl -X POST -H \"Cache-Control: no-cache\" -H \"Content-Type: application/x-www-form-urlencoded\" \"{issuer}/oauth2/token/\" -d \"client_id={CLI_CLIENT_ID}\" -d \"username={ADMIN_USERNAME}\" -d \"password={ADMIN_PASSWORD}\" -d \"grant_type=password\""
        )?;
        write!(f, "  Ctrl-C stops everything.")
    }
}
