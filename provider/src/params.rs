//! Strict parsing of form and query parameters.
//!
//! RFC 6749 §3.1/§3.2: parameters MUST NOT be included more than once; unknown
//! parameters are ignored. Limits: the whole body or query ≤ 16 KiB (enforced
//! by the HTTP layer), each value ≤ 2048 bytes, at most 64 parameters.

use std::collections::HashMap;

pub const MAX_VALUE_LEN: usize = 2048;
pub const MAX_PARAMS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, String>);

#[derive(Debug, PartialEq, Eq)]
pub enum ParamsError {
    Duplicate(String),
    TooLong(String),
    TooMany,
    /// A NUL byte: no parameter may hold one (PostgreSQL cannot store it in TEXT).
    Nul(String),
}

impl std::fmt::Display for ParamsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duplicate(k) => write!(f, "parameter {k:?} is repeated"),
            Self::TooLong(k) => write!(f, "parameter {k:?} is longer than {MAX_VALUE_LEN} bytes"),
            Self::TooMany => write!(f, "more than {MAX_PARAMS} parameters"),
            Self::Nul(k) => write!(f, "parameter {k:?} contains a NUL byte"),
        }
    }
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn parse(input: &[u8]) -> Result<Self, ParamsError> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(input) {
            if map.len() >= MAX_PARAMS {
                return Err(ParamsError::TooMany);
            }
            if v.len() > MAX_VALUE_LEN || k.len() > 64 {
                return Err(ParamsError::TooLong(k.chars().take(64).collect()));
            }
            // Refused for every engine alike, before any lookup: SQLite would store
            // it, PostgreSQL fails the query (a 500 once).
            if k.contains('\0') || v.contains('\0') {
                return Err(ParamsError::Nul(
                    k.replace('\0', "\\0").chars().take(64).collect(),
                ));
            }
            if map.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                return Err(ParamsError::Duplicate(k.into_owned()));
            }
        }
        Ok(Self(map))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_long_values_are_refused() {
        assert_eq!(
            Params::parse(b"a=1&a=2").err(),
            Some(ParamsError::Duplicate("a".into()))
        );
        let long = format!("a={}", "x".repeat(MAX_VALUE_LEN + 1));
        assert!(matches!(
            Params::parse(long.as_bytes()),
            Err(ParamsError::TooLong(_))
        ));
        let p = Params::parse(b"a=1&b=&c=%20x").expect("parses");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(" x"));
        assert!(matches!(
            Params::parse(b"client_id=te%00st"),
            Err(ParamsError::Nul(_))
        ));
        assert!(matches!(Params::parse(b"a%00=1"), Err(ParamsError::Nul(_))));
    }
}
