//! The runtime stage as a layer directory: its `COPY --from=build` and context `COPY`s,
//! its `WORKDIR`, and the `useradd` / `mkdir` / `chown` parts of its `RUN` (so the stack runs
//! as the image's user, with the image's directory owners). `apt-get` parts are noted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::dockerfile::{Instruction, Stage, absolute};

pub struct Layer {
    /// The stage's files: `dir/usr/local/bin/provider`, `dir/app/frontend-demo/…`.
    pub dir: PathBuf,
    pub workdir: String,
    /// `USER` as numbers (the image's `useradd --uid`; its group taken as the same id).
    pub uid: u32,
    pub cmd: Vec<String>,
    /// `apt-get install` packages (curl for the healthchecks, …).
    pub packages: Vec<String>,
    pub not_simulated: Vec<String>,
}

pub fn assemble(
    stage: &Stage,
    context: &Context,
    build_fs: &Path,
    dir: &Path,
) -> Result<Layer, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("layer dir");
    let mut users: BTreeMap<String, u32> = BTreeMap::new();
    let mut packages = Vec::new();
    let mut not_simulated = Vec::new();
    let mut at = "/".to_owned();
    for instruction in &stage.instructions {
        match instruction {
            Instruction::Workdir(next) => {
                at = absolute(&at, next);
                std::fs::create_dir_all(host(dir, &at)).expect("WORKDIR");
            }
            Instruction::Copy {
                from: Some(from),
                sources,
                dest,
            } => {
                for source in sources {
                    let built = host(build_fs, source);
                    if !built.is_file() {
                        return Err(format!(
                            "the runtime stage copies {source} from stage `{from}`, which did not produce it"
                        ));
                    }
                    let name = source.rsplit('/').next().expect("file name");
                    let target = if dest.ends_with('/') || sources.len() > 1 {
                        format!("{}/{name}", absolute(&at, dest).trim_end_matches('/'))
                    } else {
                        absolute(&at, dest)
                    };
                    place(&built, &host(dir, &target));
                }
            }
            Instruction::Copy {
                from: None,
                sources,
                dest,
            } => {
                for (target, file) in context.copy(sources, dest, &at) {
                    place(&file, &host(dir, &target));
                }
            }
            Instruction::Run(script) => {
                for part in script.split("&&").map(str::trim) {
                    run_part(part, dir, &mut users, &mut packages, &mut not_simulated)?;
                }
            }
            Instruction::User(_) | Instruction::Cmd(_) => {}
            Instruction::Other(line) => not_simulated.push(line.clone()),
        }
    }
    let user = stage.user().unwrap_or("root");
    let uid = match user.parse::<u32>() {
        Ok(uid) => uid,
        Err(_) if user == "root" => 0,
        Err(_) => *users
            .get(user)
            .ok_or_else(|| format!("USER {user} is not created by the runtime stage"))?,
    };
    Ok(Layer {
        dir: dir.to_path_buf(),
        workdir: stage.workdir(),
        uid,
        cmd: stage.cmd().map(<[String]>::to_vec).unwrap_or_default(),
        packages,
        not_simulated,
    })
}

fn run_part(
    part: &str,
    dir: &Path,
    users: &mut BTreeMap<String, u32>,
    packages: &mut Vec<String>,
    not_simulated: &mut Vec<String>,
) -> Result<(), String> {
    let words: Vec<&str> = part.split_whitespace().collect();
    let args = || words[1..].iter().filter(|w| !w.starts_with('-'));
    match words.as_slice() {
        ["apt-get", "install", ..] => {
            packages.extend(args().skip(1).map(|p| (*p).to_owned()));
            not_simulated.push(format!("RUN {part} (runtime stage)"));
        }
        ["apt-get", ..] | ["rm", "-rf", "/var/lib/apt/lists/*"] => {
            not_simulated.push(format!("RUN {part} (runtime stage)"));
        }
        ["useradd", ..] => {
            let uid = words
                .windows(2)
                .find(|w| w[0] == "--uid")
                .and_then(|w| w[1].parse().ok())
                .ok_or_else(|| format!("`{part}`: the simulation needs an explicit --uid"))?;
            users.insert((*words.last().expect("user name")).to_owned(), uid);
        }
        ["mkdir", ..] => {
            for path in args() {
                std::fs::create_dir_all(host(dir, path)).expect("mkdir");
            }
        }
        ["chown", owner, paths @ ..] => {
            let user = owner.split(':').next().expect("owner");
            let uid = *users
                .get(user)
                .ok_or_else(|| format!("chown to unknown user {user}"))?;
            for path in paths {
                chown(&host(dir, path), uid);
            }
        }
        _ => return Err(format!("runtime RUN part not simulated: `{part}`")),
    }
    Ok(())
}

/// An image path inside a host directory standing for `/`.
pub fn host(root: &Path, image_path: &str) -> PathBuf {
    root.join(image_path.trim_start_matches('/'))
}

/// Ownership as the image has it; only root can give it (else the stack test is skipped).
pub fn chown(path: &Path, uid: u32) {
    if std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0) {
        std::os::unix::fs::chown(path, Some(uid), Some(uid)).expect("chown");
    }
}

fn place(source: &Path, target: &Path) {
    std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(target);
    if std::fs::hard_link(source, target).is_err() {
        std::fs::copy(source, target).expect("copy into the layer");
    }
}
