//! The Dockerfile as BuildKit reads it, for the instructions this project uses: stages
//! (`FROM … AS name`), `WORKDIR`, `COPY [--from=stage] src… dest`, `RUN` (shell form),
//! `USER` and `CMD` (exec form). Anything else is kept as `Other` and reported.

use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub enum Instruction {
    Workdir(String),
    Copy {
        from: Option<String>,
        sources: Vec<String>,
        dest: String,
    },
    Run(String),
    User(String),
    Cmd(Vec<String>),
    Other(String),
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub base: String,
    pub instructions: Vec<Instruction>,
}

impl Stage {
    /// `WORKDIR` in force at the end of the stage (Docker's default is `/`).
    pub fn workdir(&self) -> String {
        let mut dir = "/".to_owned();
        for instruction in &self.instructions {
            if let Instruction::Workdir(next) = instruction {
                dir = absolute(&dir, next);
            }
        }
        dir
    }

    pub fn user(&self) -> Option<&str> {
        self.instructions.iter().rev().find_map(|i| match i {
            Instruction::User(user) => Some(user.as_str()),
            _ => None,
        })
    }

    pub fn cmd(&self) -> Option<&[String]> {
        self.instructions.iter().rev().find_map(|i| match i {
            Instruction::Cmd(argv) => Some(argv.as_slice()),
            _ => None,
        })
    }

    pub fn runs(&self) -> impl Iterator<Item = &str> {
        self.instructions.iter().filter_map(|i| match i {
            Instruction::Run(script) => Some(script.as_str()),
            _ => None,
        })
    }
}

/// `next` resolved against the directory `dir`, as WORKDIR and COPY destinations are;
/// `.` and `..` segments folded, a trailing `/` kept (it means "into this directory").
pub fn absolute(dir: &str, next: &str) -> String {
    let joined = if next.starts_with('/') {
        next.to_owned()
    } else {
        format!("{dir}/{next}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let slash = if next.ends_with('/') || next.ends_with("/.") || next == "." {
        "/"
    } else {
        ""
    };
    format!("/{}{slash}", parts.join("/")).replace("//", "/")
}

pub fn parse_file(path: &Path) -> Vec<Stage> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse(&text)
}

pub fn parse(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical_lines(text) {
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let rest = rest.trim();
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let base = words.first().expect("FROM image").to_string();
                let name = match words.as_slice() {
                    [_, as_, name] if as_.eq_ignore_ascii_case("as") => (*name).to_owned(),
                    _ => stages.len().to_string(),
                };
                stages.push(Stage {
                    name,
                    base,
                    instructions: Vec::new(),
                });
            }
            keyword => {
                let stage = stages.last_mut().expect("an instruction before FROM");
                stage.instructions.push(instruction(keyword, rest));
            }
        }
    }
    stages
}

fn instruction(keyword: &str, rest: &str) -> Instruction {
    match keyword {
        "WORKDIR" => Instruction::Workdir(rest.to_owned()),
        "RUN" => Instruction::Run(rest.to_owned()),
        "USER" => Instruction::User(rest.to_owned()),
        "CMD" => Instruction::Cmd(exec_form(rest)),
        "COPY" => {
            let mut from = None;
            let mut words = Vec::new();
            for word in rest.split_whitespace() {
                if let Some(stage) = word.strip_prefix("--from=") {
                    from = Some(stage.to_owned());
                } else if word.starts_with("--") {
                    panic!("COPY flag {word} is not simulated; teach tests/tests/docker");
                } else {
                    words.push(word.to_owned());
                }
            }
            let dest = words.pop().expect("COPY destination");
            assert!(!words.is_empty(), "COPY without a source: {rest}");
            Instruction::Copy {
                from,
                sources: words,
                dest,
            }
        }
        _ => Instruction::Other(format!("{keyword} {rest}")),
    }
}

/// `CMD ["a", "b"]` as argv; the shell form is refused (compose and the test both exec).
fn exec_form(rest: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(rest)
        .unwrap_or_else(|e| panic!("CMD must be exec form (a JSON array): {rest}: {e}"));
    value
        .as_array()
        .expect("CMD array")
        .iter()
        .map(|v| v.as_str().expect("CMD string").to_owned())
        .collect()
}

/// Joins `\`-continued lines; drops comments, parser directives and blank lines.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head.trim_end());
            current.push(' ');
        } else {
            current.push_str(trimmed);
            lines.push(std::mem::take(&mut current).trim().to_owned());
        }
    }
    if !current.trim().is_empty() {
        lines.push(current.trim().to_owned());
    }
    lines.retain(|l| !l.is_empty());
    lines
}

#[test]
fn parses_stages_continuations_and_copy_forms() {
    let stages = parse(
        "# syntax=docker/dockerfile:1\nFROM rust AS build\nWORKDIR /src\nCOPY a b ./\n\
         RUN apt-get update \\\n && cargo build --locked\nFROM debian AS runtime\n\
         COPY --from=build /src/target/x /usr/local/bin/\nWORKDIR app\nUSER me\n\
         CMD [\"x\", \"--flag\"]\n",
    );
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].name, "build");
    assert_eq!(stages[0].workdir(), "/src");
    assert_eq!(
        stages[0].runs().collect::<Vec<_>>(),
        ["apt-get update && cargo build --locked"]
    );
    assert_eq!(
        stages[1].instructions[0],
        Instruction::Copy {
            from: Some("build".into()),
            sources: vec!["/src/target/x".into()],
            dest: "/usr/local/bin/".into(),
        }
    );
    assert_eq!(stages[1].workdir(), "/app");
    assert_eq!(stages[1].user(), Some("me"));
    assert_eq!(stages[1].cmd().unwrap(), ["x", "--flag"]);
    assert_eq!(absolute("/src", "./"), "/src/");
    assert_eq!(absolute("/src", "a/../b"), "/src/b");
    assert_eq!(absolute("/", "app"), "/app");
}
