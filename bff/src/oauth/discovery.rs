//! Authorization server metadata: RFC 8414 and OpenID Connect Discovery 1.0.

use anyhow::Context;
use latchkey_shared::ServerMetadata;
use url::Url;

use crate::oauth::provider::PROVIDER_TIMEOUT;

/// The endpoints the BFF uses, parsed from the wire document (the `shared` crate's
/// [`ServerMetadata`], the same type the bundled provider serves).
#[derive(Debug)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    /// RP-Initiated Logout 1.0 §2.1, where `/auth/logout` sends the browser.
    pub end_session_endpoint: Option<Url>,
}

impl TryFrom<ServerMetadata> for Metadata {
    type Error = anyhow::Error;

    fn try_from(m: ServerMetadata) -> anyhow::Result<Self> {
        let url = |field: &str, v: &str| Url::parse(v).with_context(|| format!("metadata {field}"));
        let optional = |field: &str, v: Option<String>| v.map(|v| url(field, &v)).transpose();
        Ok(Self {
            authorization_endpoint: url("authorization_endpoint", &m.authorization_endpoint)?,
            token_endpoint: url("token_endpoint", &m.token_endpoint)?,
            revocation_endpoint: optional("revocation_endpoint", m.revocation_endpoint)?,
            userinfo_endpoint: optional("userinfo_endpoint", m.userinfo_endpoint)?,
            jwks_uri: optional("jwks_uri", m.jwks_uri)?,
            end_session_endpoint: optional("end_session_endpoint", m.end_session_endpoint)?,
            issuer: m.issuer,
        })
    }
}

pub(crate) fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Metadata URLs to try, in order. RFC 8414 §3.1: the well-known segment goes between
/// the host and the issuer's path (`https://h/.well-known/oauth-authorization-server/o`);
/// OpenID Connect Discovery §4.1 appends it (`https://h/o/.well-known/openid-configuration`);
/// the appended RFC 8414 form is what many servers (and the bundled provider) answer.
pub(crate) fn metadata_urls(issuer: &Url) -> anyhow::Result<Vec<Url>> {
    let base = issuer.as_str().trim_end_matches('/');
    let path = issuer.path().trim_end_matches('/');
    let mut urls = vec![Url::parse(&format!(
        "{base}/.well-known/oauth-authorization-server"
    ))?];
    if !path.is_empty() {
        let origin = issuer.origin().ascii_serialization();
        urls.push(Url::parse(&format!(
            "{origin}/.well-known/oauth-authorization-server{path}"
        ))?);
    }
    urls.push(Url::parse(&format!(
        "{base}/.well-known/openid-configuration"
    ))?);
    Ok(urls)
}

/// RFC 8414 §3 then OpenID Discovery; RFC 8414 §3.3 / OIDC Discovery §4.3: `issuer` must
/// match. An RFC 8414 document may lack the OpenID fields (`userinfo_endpoint`, `jwks_uri`,
/// `end_session_endpoint`: django-oauth-toolkit's does): they are then taken from the
/// OpenID document, when that one names the same issuer.
pub async fn discover(http: &reqwest::Client, issuer: &Url) -> anyhow::Result<(Metadata, Url)> {
    let mut last_error = None;
    let mut found: Option<(Metadata, Url)> = None;
    for url in metadata_urls(issuer)? {
        if let Some((m, _)) = &found {
            let oidc_doc = url.path().ends_with("/openid-configuration");
            let complete = m.userinfo_endpoint.is_some()
                && m.jwks_uri.is_some()
                && m.end_session_endpoint.is_some();
            if !oidc_doc || complete {
                continue;
            }
        }
        match http.get(url.clone()).timeout(PROVIDER_TIMEOUT).send().await {
            Ok(resp) if resp.status().is_success() => {
                let wire: ServerMetadata = resp.json().await.context("provider metadata")?;
                let metadata = Metadata::try_from(wire)?;
                anyhow::ensure!(
                    same_issuer(&metadata.issuer, issuer.as_str()),
                    "metadata issuer {} does not match --issuer {}",
                    metadata.issuer,
                    issuer
                );
                found = Some(match found {
                    None => (metadata, url),
                    Some((mut first, first_url)) => {
                        first.userinfo_endpoint =
                            first.userinfo_endpoint.or(metadata.userinfo_endpoint);
                        first.jwks_uri = first.jwks_uri.or(metadata.jwks_uri);
                        first.end_session_endpoint =
                            first.end_session_endpoint.or(metadata.end_session_endpoint);
                        (first, first_url)
                    }
                });
            }
            Ok(resp) => last_error = Some(anyhow::anyhow!("{url}: HTTP {}", resp.status())),
            Err(err) => last_error = Some(anyhow::anyhow!("{url}: {err}")),
        }
    }
    found.ok_or_else(|| last_error.unwrap_or_else(|| anyhow::anyhow!("discovery failed")))
}
