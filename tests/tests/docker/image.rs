//! The image, built the way the Dockerfile says, minus the engine: the build stage's
//! `COPY`s laid out in a scratch root, its `cargo` `RUN` executed there (offline, against
//! the shared registry cache and target directory), then the runtime stage's files
//! assembled into a layer directory. Its base images and `apt-get` lines cannot run here;
//! they are listed in `not_simulated`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use crate::context::{Context, sync};
use crate::dockerfile::{Instruction, absolute, parse_file};
use crate::harness::bin_dir;
use crate::runtime::{Layer, assemble};

pub struct Image {
    /// The build stage's `/`.
    pub build_fs: PathBuf,
    pub build_workdir: String,
    /// The runtime stage's own files, users and CMD.
    pub layer: Layer,
    /// Every `cargo` command run, and how long it took.
    pub cargo_runs: Vec<(String, f64)>,
    /// `RUN` parts that need a real engine (base image packages).
    pub not_simulated: Vec<String>,
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Built once per test run; both the build test and the stack test use it.
pub fn image() -> &'static Result<Image, String> {
    static IMAGE: OnceLock<Result<Image, String>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        std::panic::catch_unwind(build).unwrap_or_else(|panic| {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
            Err(text.unwrap_or_else(|| "the image build panicked".into()))
        })
    })
}

fn build() -> Result<Image, String> {
    let root = workspace_root();
    let stages = parse_file(&root.join("Dockerfile"));
    let (build_stage, runtime_stage) = match stages.as_slice() {
        [first, .., last] => (first, last),
        _ => return Err("the Dockerfile needs a build stage and a runtime stage".into()),
    };
    let context = Context::load(&root);
    let target_dir = bin_dir().parent().expect("target dir").to_path_buf();
    let scratch = target_dir.join("docker-image");
    let build_fs = scratch.join("build");
    let workdir = build_stage.workdir();
    let target_link = build_fs
        .join(workdir.trim_start_matches('/'))
        .join("target");

    let mut wanted = BTreeMap::new();
    let mut at = "/".to_owned();
    for instruction in &build_stage.instructions {
        match instruction {
            Instruction::Workdir(dir) => at = absolute(&at, dir),
            Instruction::Copy {
                from: None,
                sources,
                dest,
            } => wanted.extend(context.copy(sources, dest, &at)),
            Instruction::Copy { from: Some(f), .. } => {
                return Err(format!("build stage COPY --from={f} is not simulated"));
            }
            _ => {}
        }
    }
    sync(&build_fs, &wanted, &target_link);
    link_target(&target_link, &target_dir);

    let mut not_simulated = vec![format!("FROM {} (build stage)", build_stage.base)];
    let mut cargo_runs = Vec::new();
    let mut failures = missing_members(&root, &build_fs, &workdir);
    for script in build_stage.runs() {
        if script.starts_with("cargo ") {
            let started = Instant::now();
            let result = run_cargo(script, &build_fs.join(workdir.trim_start_matches('/')));
            cargo_runs.push((script.to_owned(), started.elapsed().as_secs_f64()));
            if let Err(error) = result {
                failures.push(error);
            }
        } else {
            not_simulated.push(format!("RUN {script} (build stage)"));
        }
    }
    if cargo_runs.is_empty() {
        failures.push("the build stage runs no `cargo` command".into());
    }
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    let layer = assemble(runtime_stage, &context, &build_fs, &scratch.join("runtime"))?;
    not_simulated.push(format!("FROM {} (runtime stage)", runtime_stage.base));
    not_simulated.extend(layer.not_simulated.iter().cloned());
    Ok(Image {
        build_fs,
        build_workdir: workdir,
        layer,
        cargo_runs,
        not_simulated,
    })
}

/// `<workdir>/target` → the test run's own target directory: the image's build writes
/// where a plain `cargo build` in `/src` would, and reuses every compiled dependency.
fn link_target(link: &Path, target_dir: &Path) {
    if std::fs::read_link(link).ok().as_deref() != Some(target_dir) {
        let _ = std::fs::remove_file(link);
        let _ = std::fs::remove_dir_all(link);
        std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target_dir, link).expect("symlink target");
    }
}

/// Workspace members (root `Cargo.toml`) whose manifest the build stage lacks.
fn missing_members(root: &Path, build_fs: &Path, workdir: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let members = manifest
        .split_once("members")
        .and_then(|(_, rest)| rest.split_once('['))
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("[workspace] members = [...]");
    let dir = build_fs.join(workdir.trim_start_matches('/'));
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty() && !dir.join(m).join("Cargo.toml").is_file())
        .map(|m| format!("workspace member `{m}` is not copied into the build stage"))
        .collect()
}

/// The stage's `cargo …` line, by `sh -c` in its WORKDIR, offline (the workspace's own
/// build has just filled the registry cache with every locked crate).
fn run_cargo(script: &str, dir: &Path) -> Result<(), String> {
    let cargo = PathBuf::from(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(cargo_dir) = cargo.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut dirs = vec![cargo_dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        path = std::env::join_paths(dirs).expect("PATH");
    }
    let out = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .map_err(|e| format!("run `{script}`: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "`{script}` failed in the laid-out build stage ({}):\n{}",
        out.status,
        tail.join("\n")
    ))
}

impl Image {
    /// The build stage's `/src`, as a host path.
    pub fn build_dir(&self) -> PathBuf {
        self.build_fs
            .join(self.build_workdir.trim_start_matches('/'))
    }
}
