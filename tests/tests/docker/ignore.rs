//! `.dockerignore` as BuildKit applies it: patterns relative to the context root, `*` and
//! `?` within one path segment, `**` across any number of segments, `!` re-includes, the
//! last matching line wins, and a path is excluded when it or one of its parents matches.

use std::path::Path;

pub struct Ignore {
    rules: Vec<(bool, Vec<String>)>,
}

impl Ignore {
    pub fn load(context: &Path) -> Self {
        let text = std::fs::read_to_string(context.join(".dockerignore")).unwrap_or_default();
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|line| {
                let (keep, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments = pattern
                    .trim_start_matches('/')
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(str::to_owned)
                    .collect();
                (keep, segments)
            })
            .collect();
        Self { rules }
    }

    /// Whether re-include rules exist (then an excluded directory must still be walked).
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(keep, _)| *keep)
    }

    /// `relative` uses `/` separators, no leading `/`.
    pub fn excluded(&self, relative: &str) -> bool {
        let segments: Vec<&str> = relative.split('/').collect();
        let mut excluded = false;
        for (keep, pattern) in &self.rules {
            let hit = (1..=segments.len()).any(|n| matches(pattern, &segments[..n]));
            if hit {
                excluded = !keep;
            }
        }
        excluded
    }
}

fn matches(pattern: &[String], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(p), _) if p == "**" => {
            (0..=path.len()).any(|skip| matches(&pattern[1..], &path[skip..]))
        }
        (Some(p), Some(s)) => {
            glob(p.as_bytes(), s.as_bytes()) && matches(&pattern[1..], &path[1..])
        }
        _ => false,
    }
}

/// One segment: `*` any run, `?` one byte; `[` classes are refused rather than guessed.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'[', _)) => panic!(".dockerignore character classes are not simulated"),
        Some((b'*', rest)) => (0..=text.len()).any(|n| glob(rest, &text[n..])),
        Some((b'?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((b'\\', rest)) if !rest.is_empty() => {
            text.first() == Some(&rest[0]) && glob(&rest[1..], &text[1..])
        }
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

#[test]
fn dockerignore_semantics() {
    let ignore = Ignore::parse("target\n# comment\n/data\n**/*.sqlite3\ndocs\n!docs/keep.md\n");
    assert!(ignore.excluded("target"));
    assert!(ignore.excluded("target/release/provider"));
    assert!(!ignore.excluded("bench/target2"));
    assert!(
        !ignore.excluded("provider/target"),
        "root-relative, as Docker"
    );
    assert!(ignore.excluded("data/x"));
    assert!(ignore.excluded("a.sqlite3"));
    assert!(ignore.excluded("provider/x/y.sqlite3"));
    assert!(!ignore.excluded("provider/y.sqlite3.bak"));
    assert!(ignore.excluded("docs/shot.png"));
    assert!(!ignore.excluded("docs/keep.md"));
    assert!(ignore.has_exceptions());
    let star = Ignore::parse("*.md\nbench/res*\n");
    assert!(star.excluded("README.md"));
    assert!(
        !star.excluded("bench/README.md"),
        "`*` stays in one segment"
    );
    assert!(star.excluded("bench/results/a.jsonl"));
}
