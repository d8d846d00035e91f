//! User codes (RFC 8628 §6.1): short, typed by a person, so drawn from an
//! alphabet without vowels (no words) or look-alikes (no 0/O, 1/I/L confusion
//! beyond `L`, which has no digit twin here): 20 consonants, 8 characters, shown
//! as `XXXX-XXXX`. 20⁸ ≈ 2.6 × 10¹⁰ codes (34.6 bits); guessing is bounded by
//! the throttle (see `device::find`), not by the code's length.

use rand::Rng as _;

use crate::secret::TokenHash;

pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const LEN: usize = 8;
/// Input longer than this is not a code, however it is spelt.
pub const MAX_INPUT: usize = 64;

/// A well-formed user code, normalised (upper case, no separators).
#[derive(Clone)]
pub struct UserCode(String);

impl std::fmt::Debug for UserCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserCode(<redacted>)")
    }
}

impl UserCode {
    /// A fresh random code (uniform over the alphabet: bytes ≥ 240 are redrawn).
    pub fn generate() -> Self {
        let mut out = String::with_capacity(LEN);
        let mut buf = [0u8; 32];
        while out.len() < LEN {
            rand::rng().fill_bytes(&mut buf);
            for b in buf.iter().filter(|&&b| b < 240) {
                if out.len() == LEN {
                    break;
                }
                out.push(ALPHABET[usize::from(*b % 20)] as char);
            }
        }
        Self(out)
    }

    /// What a person typed: case, dashes and white space do not matter (§6.1);
    /// anything else outside the alphabet (digits, vowels, NUL, …) is not a code.
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() > MAX_INPUT {
            return None;
        }
        let code: String = input
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let valid = code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b));
        valid.then_some(Self(code))
    }

    /// `XXXX-XXXX`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_back_in_any_spelling() {
        for _ in 0..100 {
            let c = UserCode::generate();
            assert_eq!(c.0.len(), LEN);
            let shown = c.display();
            for spelling in [
                shown.clone(),
                shown.to_lowercase(),
                format!("  {} ", shown.replace('-', " ")),
                shown.replace('-', "--"),
            ] {
                let back = UserCode::parse(&spelling).expect("parses");
                assert!(back.hash().matches(&c.hash()), "{spelling}");
            }
        }
    }

    #[test]
    fn non_codes_are_refused() {
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GHJA",
            "BCDF-GHJ0",
            "BCDF\0GHJK",
            "BCDF-GHJ\u{212A}", // KELVIN SIGN, a look-alike of K
            "ВCDF-GHJK",        // Cyrillic В
            &"B".repeat(65),
            &format!("BCDFGHJK{}", " ".repeat(60)),
        ] {
            assert!(UserCode::parse(bad).is_none(), "{bad:?}");
        }
    }
}
