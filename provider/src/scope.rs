//! Scopes (RFC 6749 §3.3): space-delimited, case-sensitive, order-free sets.

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space-delimited list, keeping first-seen order and dropping repeats.
    /// Returns `None` for characters outside RFC 6749 §3.3's `scope-token`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for tok in s.split(' ').filter(|t| !t.is_empty()) {
            let valid = tok
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return None;
            }
            if seen.insert(tok) {
                out.push(tok.to_owned());
            }
        }
        Some(Self(out))
    }

    pub fn from_stored(s: &str) -> Self {
        Self(s.split_whitespace().map(str::to_owned).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Every scope of `self`, then those of `other` not already in it.
    pub fn union(&self, other: &Scopes) -> Scopes {
        let mut out = self.0.clone();
        out.extend(
            other
                .iter()
                .filter(|s| !self.contains(s))
                .map(str::to_owned),
        );
        Scopes(out)
    }

    /// Keeps only scopes also in `other`, in `self`'s order.
    pub fn intersect(&self, other: &Scopes) -> Scopes {
        Scopes(
            self.0
                .iter()
                .filter(|s| other.contains(s))
                .cloned()
                .collect(),
        )
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dedupes_and_rejects_bad_characters() {
        assert_eq!(
            Scopes::parse("read  write read")
                .expect("valid")
                .to_string(),
            "read write"
        );
        assert!(Scopes::parse("read\"x").is_none());
        assert!(Scopes::parse("read\\").is_none());
        let all = Scopes::parse("read write groups").expect("valid");
        assert!(Scopes::parse("write").expect("valid").is_subset_of(&all));
        assert!(!Scopes::parse("admin").expect("valid").is_subset_of(&all));
        let read = Scopes::parse("read").expect("valid");
        assert_eq!(
            read.union(&Scopes::parse("write read").expect("valid"))
                .to_string(),
            "read write"
        );
    }
}
