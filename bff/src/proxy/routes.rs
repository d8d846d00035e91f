//! Where `/api/*` may go: a default upstream and `PREFIX=URL` routes. Nothing else.
//!
//! Each upstream base is split once at start-up (scheme, authority, path), so a request
//! only joins strings and builds an `http::Uri`: no URL parser on the hot path.

use axum::http::Uri;
use axum::http::uri::{Authority, PathAndQuery, Scheme};
use url::{Position, Url};

/// One upstream base URL, pre-split.
#[derive(Debug, Clone)]
struct Base {
    /// The whole base without trailing `/`: the slow path joins onto it.
    url: String,
    scheme: Scheme,
    authority: Authority,
    /// The base path without trailing `/` (empty for the root).
    path: String,
}

impl Base {
    fn new(url: &Url) -> anyhow::Result<Self> {
        if !matches!(url.scheme(), "http" | "https") {
            anyhow::bail!("upstream {url} is not an http(s) URL");
        }
        // Credentials, a query or a fragment in a base have no meaning for a proxy.
        if url.has_authority() && (!url.username().is_empty() || url.password().is_some())
            || url.query().is_some()
            || url.fragment().is_some()
        {
            anyhow::bail!("upstream {url} must not have credentials, a query or a fragment");
        }
        Ok(Self {
            url: url.as_str().trim_end_matches('/').to_owned(),
            scheme: url.scheme().parse()?,
            authority: url[Position::BeforeHost..Position::AfterPort].parse()?,
            path: url.path().trim_end_matches('/').to_owned(),
        })
    }

    /// `base/remainder?query`, exactly as `Url::parse` would normalise it.
    fn join(&self, remainder: &str, query: Option<&str>) -> Option<Uri> {
        if !(remainder.bytes().all(path_byte_kept)
            && query.is_none_or(|q| q.bytes().all(query_byte_kept)))
        {
            // Rare: let the URL parser percent-encode what it encodes (WHATWG URL §4.4).
            let mut target = format!("{}/{}", self.url, remainder);
            if let Some(query) = query {
                target.push('?');
                target.push_str(query);
            }
            return Url::parse(&target).ok()?.as_str().parse().ok();
        }
        let mut path = String::with_capacity(
            self.path.len() + remainder.len() + query.map_or(0, |q| q.len() + 2) + 1,
        );
        path.push_str(&self.path);
        path.push('/');
        path.push_str(remainder);
        if let Some(query) = query {
            path.push('?');
            path.push_str(query);
        }
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(PathAndQuery::from_maybe_shared(path).ok()?)
            .build()
            .ok()
    }
}

/// Path bytes the WHATWG URL parser leaves as they are (printable ASCII outside its
/// path percent-encode set: space `"` `#` `<` `>` `?` `` ` `` `{` `}`).
fn path_byte_kept(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}')
}

/// Query bytes it leaves as they are (special schemes: also `'` is encoded).
fn query_byte_kept(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'"' | b'#' | b'<' | b'>' | b'\'')
}

#[derive(Debug, Clone, Default)]
pub struct Routes {
    default: Option<Base>,
    /// Longest prefix first.
    prefixed: Vec<(String, Base)>,
}

impl Routes {
    pub fn new(default: Option<Url>, specs: &[String]) -> anyhow::Result<Self> {
        let mut prefixed = Vec::new();
        for spec in specs {
            let (prefix, url) = spec
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("route {spec:?} is not PREFIX=URL"))?;
            prefixed.push((
                prefix.trim_matches('/').to_owned(),
                Base::new(&Url::parse(url)?)?,
            ));
        }
        prefixed.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let default = default.as_ref().map(Base::new).transpose()?;
        Ok(Self { default, prefixed })
    }

    /// `rest` is the path after `/api/`. Dot segments (RFC 3986 §5.2.4), also
    /// percent-encoded, and encoded or backslash separators are refused, so no request
    /// can climb out of an upstream's base path.
    pub fn target(&self, rest: &str, query: Option<&str>) -> Option<Uri> {
        if rest.split('/').any(is_dot_segment)
            || rest.contains('\\')
            || contains_encoded_slash(rest)
        {
            return None;
        }
        let (base, remainder) = self
            .prefixed
            .iter()
            .find_map(|(prefix, base)| {
                let tail = rest.strip_prefix(prefix.as_str())?;
                (tail.is_empty() || tail.starts_with('/'))
                    .then(|| (base, tail.trim_start_matches('/')))
            })
            .or_else(|| self.default.as_ref().map(|base| (base, rest)))?;
        base.join(remainder, query)
    }
}

/// `.` or `..`, with any dot written as `%2e`/`%2E`.
fn is_dot_segment(segment: &str) -> bool {
    let mut dots = 0;
    let mut bytes = segment.as_bytes();
    while let Some(&first) = bytes.first() {
        if first == b'.' {
            bytes = &bytes[1..];
        } else if bytes.len() >= 3
            && bytes[0] == b'%'
            && bytes[1] == b'2'
            && bytes[2].eq_ignore_ascii_case(&b'e')
        {
            bytes = &bytes[3..];
        } else {
            return false;
        }
        dots += 1;
    }
    matches!(dots, 1 | 2)
}

fn contains_encoded_slash(rest: &str) -> bool {
    rest.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::new(
            Some(Url::parse("http://up/api").expect("url")),
            &[
                "files=http://files:9000/v1/".to_owned(),
                "root=https://r:443".to_owned(),
            ],
        )
        .expect("routes")
    }

    #[test]
    fn targets() {
        let routes = routes();
        let t = |rest, q| routes.target(rest, q).map(|u| u.to_string());
        assert_eq!(t("me/", Some("a=1")), Some("http://up/api/me/?a=1".into()));
        assert_eq!(t("files/x", None), Some("http://files:9000/v1/x".into()));
        assert_eq!(t("files", None), Some("http://files:9000/v1/".into()));
        assert_eq!(t("filesx", None), Some("http://up/api/filesx".into()));
        assert_eq!(t("root/x", None), Some("https://r/x".into()));
        assert_eq!(t("../admin", None), None);
        assert_eq!(t("a/%2E%2e/admin", None), None);
        assert_eq!(t("a/.%2E", None), None);
        assert_eq!(t("a/%2e", None), None);
        assert_eq!(t("a%2fb", None), None);
        assert_eq!(t("a%2Fb", None), None);
        assert_eq!(t("a\\b", None), None);
        assert_eq!(t("a/...", None), Some("http://up/api/a/...".into()));
        assert_eq!(t("a/.x", None), Some("http://up/api/a/.x".into()));
    }

    /// The fast path and the URL parser agree, including where it percent-encodes.
    #[test]
    fn same_as_url_parser() {
        let routes = routes();
        let cases = [
            ("me", None),
            ("a/b;c=d/@:!$&'()*+,=~-_", Some("x=1&y=a/b?c")),
            ("a{b}", Some("q='\"<>`{}")),
            ("%41%zz/x", Some("%zz")),
            ("caf%C3%A9", Some("")),
            ("", None),
            ("a//b/", Some("a=1")),
        ];
        for (rest, query) in cases {
            let mut expected = format!("http://up/api/{rest}");
            if let Some(q) = query {
                expected = format!("{expected}?{q}");
            }
            let expected = Url::parse(&expected).map(|u| u.to_string()).ok();
            let got = routes.target(rest, query).map(|u| u.to_string());
            assert_eq!(got, expected, "{rest:?} {query:?}");
        }
    }

    #[test]
    fn refuses_odd_bases() {
        for base in ["ftp://x/", "http://u:p@x/", "http://x/?a=1", "http://x/#f"] {
            let url = Url::parse(base).expect("url");
            assert!(Routes::new(Some(url), &[]).is_err(), "{base}");
        }
    }
}
