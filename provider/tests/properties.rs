//! Properties of the provider's parsers of attacker input, checked on generated cases
//! (proptest; modest case counts so `cargo test` stays fast):
//! - a redirect URI is accepted iff it is byte-equal to a registered one, or differs
//!   from a registered `http://` loopback-IP URI in its port only (RFC 9700 §4.1.3,
//!   RFC 8252 §7.3);
//! - a form with a repeated parameter, however the name is spelled, is refused (RFC 6749
//!   §3.1: the token endpoint answers `invalid_request` for every `Params` error);
//! - the token request and client credentials parsers never panic, and HTTP Basic
//!   credentials round-trip through their form-encoding (RFC 6749 §2.3.1).
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use latchkey_provider::client_auth;
use latchkey_provider::params::{Params, ParamsError};
use latchkey_provider::redirect_uri::is_registered;
use latchkey_provider::token_request::TokenRequest;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

#[derive(Debug, Clone)]
struct Registered {
    scheme: &'static str,
    host: &'static str,
    port: Option<u16>,
    rest: String,
}

impl Registered {
    fn uri(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}://{}{port}{}", self.scheme, self.host, self.rest)
    }

    fn loopback_ip(&self) -> bool {
        // Any 127.0.0.0/8 literal is a loopback IP (RFC 8252 §7.3 allows any port there).
        self.scheme == "http" && matches!(self.host, "127.0.0.1" | "127.0.0.2" | "[::1]")
    }

    /// The oracle: `candidate` is this URI with another (or no) port.
    fn same_but_port(&self, candidate: &str) -> bool {
        let Some(middle) = candidate
            .strip_prefix(&format!("{}://{}", self.scheme, self.host))
            .and_then(|m| m.strip_suffix(self.rest.as_str()))
        else {
            return false;
        };
        middle.is_empty()
            || middle
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    }
}

fn registered() -> impl Strategy<Value = Registered> {
    (
        prop::sample::select(vec!["http", "https"]),
        prop::sample::select(vec![
            "localhost",
            "127.0.0.1",
            "[::1]",
            "127.0.0.2",
            "app.example",
        ]),
        prop::option::of(1u16..),
        "(/[a-z0-9._~-]{0,6}){1,3}(\\?[a-z=&]{1,6})?",
    )
        .prop_map(|(scheme, host, port, rest)| Registered {
            scheme,
            host,
            port,
            rest,
        })
}

#[derive(Debug, Clone)]
enum Edit {
    Same,
    Port(Option<u16>),
    /// Insert one of the look-alike characters at a position (mod length).
    Insert(usize, char),
    Delete(usize),
    Upper(usize),
    /// A parser's equivalents: percent-encode a byte, or a dot segment.
    Encode(usize),
    Append(&'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::Same),
        prop::option::of(any::<u16>()).prop_map(Edit::Port),
        (
            any::<usize>(),
            prop::sample::select(vec!['/', '.', ':', '@', '%', '#', '?', 'A', '1', '\0'])
        )
            .prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Upper),
        any::<usize>().prop_map(Edit::Encode),
        prop::sample::select(vec!["/", "/.", "/x/..", "#", "#f", "?", "&", "%20", " "])
            .prop_map(Edit::Append),
    ]
}

fn apply(reg: &Registered, edit: &Edit) -> String {
    let uri = reg.uri();
    let at = |i: usize| {
        let idx = i % (uri.len() + 1);
        (0..=idx).rev().find(|j| uri.is_char_boundary(*j)).unwrap()
    };
    match edit {
        Edit::Same => uri,
        Edit::Port(port) => Registered {
            port: *port,
            ..reg.clone()
        }
        .uri(),
        Edit::Insert(i, c) => {
            let mut s = uri.clone();
            s.insert(at(*i), *c);
            s
        }
        Edit::Delete(i) => {
            let mut s = uri.clone();
            let j = at(*i);
            if j < s.len() {
                s.remove(j);
            }
            s
        }
        Edit::Upper(i) => {
            let j = at(*i);
            let (a, b) = uri.split_at(j);
            let mut chars = b.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            format!(
                "{a}{}{}",
                first.map(String::from).unwrap_or_default(),
                chars.as_str()
            )
        }
        Edit::Encode(i) => {
            let j = at(*i);
            let (a, b) = uri.split_at(j);
            let mut chars = b.chars();
            match chars.next() {
                Some(c) if c.is_ascii() => format!("{a}%{:02X}{}", c as u32, chars.as_str()),
                _ => uri.clone(),
            }
        }
        Edit::Append(tail) => format!("{uri}{tail}"),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn redirect_uri_is_exact_but_for_a_loopback_port(
        reg in registered(),
        decoy in registered(),
        edit in edit(),
    ) {
        let candidate = apply(&reg, &edit);
        let registered = vec![decoy.uri(), reg.uri()];
        let expected = registered.contains(&candidate)
            || [&decoy, &reg]
                .iter()
                .any(|r| r.loopback_ip() && r.same_but_port(&candidate));
        prop_assert_eq!(
            is_registered(&candidate, &registered),
            expected,
            "{:?} against {:?}",
            candidate,
            registered
        );
    }

    #[test]
    fn a_repeated_parameter_is_always_refused(
        pairs in prop::collection::btree_map("[a-z_]{1,12}", ".{0,20}", 1..10),
        pick in any::<prop::sample::Index>(),
        second in ".{0,20}",
        spelling in 0..3usize,
        shuffle in any::<u64>(),
    ) {
        let pairs: Vec<(String, String)> = pairs.into_iter().collect();
        let (key, _) = pairs[pick.index(pairs.len())].clone();
        // The same name spelled another way decodes to the same parameter.
        let raw_key = match spelling {
            0 => form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>(),
            1 => key.bytes().map(|b| format!("%{b:02x}")).collect(),
            _ => key.bytes().map(|b| format!("%{b:02X}")).collect(),
        };
        let mut parts: Vec<String> = pairs
            .iter()
            .map(|(k, v)| form_urlencoded::Serializer::new(String::new()).append_pair(k, v).finish())
            .collect();
        let value: String = form_urlencoded::byte_serialize(second.as_bytes()).collect();
        let at = usize::try_from(shuffle % (parts.len() as u64 + 1)).unwrap();
        parts.insert(at, format!("{raw_key}={value}"));
        let body = parts.join("&");
        match Params::parse(body.as_bytes()) {
            Err(ParamsError::Duplicate(k)) => prop_assert_eq!(k, key),
            // Another refusal (a NUL in a generated value) is also invalid_request.
            Err(ParamsError::Nul(_)) => {}
            other => prop_assert!(false, "{body:?} gave {other:?}"),
        }
    }

    #[test]
    fn distinct_parameters_parse_to_their_values(
        pairs in prop::collection::btree_map("[a-z_]{1,12}", "[^\0]{0,20}", 0..10),
    ) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let params = Params::parse(body.as_bytes()).unwrap();
        for (k, v) in &pairs {
            prop_assert_eq!(params.get(k), (!v.is_empty()).then_some(v.as_str()));
        }
    }

    #[test]
    fn token_request_and_credentials_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..200),
        grant in prop::sample::select(vec!["authorization_code", "refresh_token", "password", "client_credentials", "x"]),
        authorization in prop::option::of(".{0,60}"),
    ) {
        let mut bytes = format!("grant_type={grant}&").into_bytes();
        bytes.extend(&body);
        if let Ok(params) = Params::parse(&bytes) {
            let _ = TokenRequest::parse(&params);
            let _ = client_auth::credentials(authorization.as_deref(), &params);
        }
    }

    #[test]
    fn basic_credentials_round_trip(id in "[^\0:]{1,30}", secret in "[^\0]{0,40}") {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let joined = format!("{}:{}", enc(&id), enc(&secret));
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(joined)
        );
        let creds = client_auth::credentials(Some(&header), &Params::default()).unwrap();
        prop_assert_eq!(&creds.client_id, &id);
        prop_assert_eq!(creds.secret.as_ref().map(|s| s.expose().to_owned()), (!secret.is_empty()).then(|| secret.clone()));
        prop_assert!(creds.via_basic);
    }
}
