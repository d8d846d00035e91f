//! Test 1: the image builds as the Dockerfile says, and everything the runtime stage and
//! the compose file name exists in it: copied paths, binaries, their flags and env vars,
//! healthcheck commands, and the SPA where `BFF_STATIC_DIR` points.

use std::collections::BTreeSet;
use std::path::Path;

use crate::compose;
use crate::image::{Image, image, workspace_root};
use crate::loud;
use crate::runtime::host;

/// Flags and clap env names the command's `--help` lists.
pub struct Help {
    pub flags: BTreeSet<String>,
    pub envs: BTreeSet<String>,
}

/// `bin [subcommand…] --help`, the subcommands being the words before the first flag.
pub fn help(image: &Image, argv: &[String]) -> Help {
    let bin = host(&image.layer.dir, "/usr/local/bin").join(&argv[0]);
    let subcommands: Vec<&String> = argv[1..]
        .iter()
        .take_while(|w| !w.starts_with('-'))
        .collect();
    let out = std::process::Command::new(&bin)
        .args(&subcommands)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("run {} --help: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{argv:?}: `--help` failed: {text}");
    let words = || text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_[:".contains(c)));
    Help {
        flags: words()
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_owned)
            .collect(),
        envs: text
            .split("[env: ")
            .skip(1)
            .filter_map(|rest| rest.split(['=', ']']).next())
            .chain(documented_envs(&text))
            .map(str::to_owned)
            .collect(),
    }
}

/// Env vars a flag's help names in backticks, read outside clap (`REDIS_URL`).
fn documented_envs(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2).filter(|word| {
        word.starts_with(|c: char| c.is_ascii_uppercase())
            && word.contains('_')
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Every `--flag` of `argv` (as `--flag value` or `--flag=value`) is one the binary has.
fn assert_flags_exist(image: &Image, what: &str, argv: &[String]) -> Help {
    let help = help(image, argv);
    for word in argv.iter().filter(|w| w.starts_with("--")) {
        let flag = word.split('=').next().expect("flag");
        assert!(
            help.flags.contains(flag),
            "{what}: `{}` has no flag {flag} (its --help lists {:?})",
            argv.join(" "),
            help.flags
        );
    }
    help
}

fn assert_in_image(image: &Image, what: &str, program: &str) {
    let bin = host(&image.layer.dir, "/usr/local/bin").join(program);
    let packaged = image.layer.packages.iter().any(|p| p == program);
    assert!(
        bin.is_file() || packaged,
        "{what}: `{program}` is neither copied into the runtime image nor one of its packages {:?}",
        image.layer.packages
    );
}

#[test]
fn the_image_builds_as_the_dockerfile_says() {
    let image = match image() {
        Ok(image) => image,
        Err(error) => panic!("the Dockerfile's build fails:\n{error}"),
    };
    for (command, seconds) in &image.cargo_runs {
        loud(&format!(
            "docker build stage: `{command}` took {seconds:.1} s"
        ));
    }
    loud(&format!(
        "not simulated (needs a Docker engine): {}",
        image.not_simulated.join("; ")
    ));
    assert!(
        image.cargo_runs.iter().any(|(c, _)| c.contains("--locked")),
        "the build stage builds with --locked"
    );
    assert!(image.build_dir().join("Cargo.lock").is_file());

    let cmd = &image.layer.cmd;
    assert!(!cmd.is_empty(), "the runtime stage has a CMD");
    assert_in_image(image, "CMD", &cmd[0]);
    assert_flags_exist(image, "CMD", cmd);

    let services = compose::load(&workspace_root().join("docker-compose.yml"));
    assert!(services.iter().filter(|s| s.built).count() >= 3);
    for service in services.iter().filter(|s| s.built) {
        let what = format!("compose service {}", service.name);
        let argv = service.command.clone().unwrap_or_else(|| cmd.clone());
        assert_in_image(image, &what, &argv[0]);
        let help = assert_flags_exist(image, &what, &argv);
        for (name, _) in &service.environment {
            assert!(
                help.envs.contains(name),
                "{what}: environment {name} is read by none of `{}`'s flags ({:?})",
                argv.join(" "),
                help.envs
            );
        }
        if let Some(check) = &service.healthcheck {
            assert_in_image(image, &format!("{what} healthcheck"), &check[0]);
        }
        for (name, value) in &service.environment {
            if name.ends_with("_STATIC_DIR") {
                assert_spa_at(&image.layer.dir, value);
            }
        }
    }
}

/// The SPA the runtime stage copied is at `dir` (an image path), byte for byte.
fn assert_spa_at(layer: &Path, dir: &str) {
    let source = workspace_root().join("frontend-demo");
    for entry in std::fs::read_dir(&source).expect("frontend-demo") {
        let name = entry.expect("entry").file_name();
        let in_image = host(layer, dir).join(&name);
        assert_eq!(
            std::fs::read(&in_image).ok(),
            std::fs::read(source.join(&name)).ok(),
            "{} in the image",
            in_image.display()
        );
    }
    assert!(
        host(layer, dir).join("index.html").is_file(),
        "{dir}/index.html"
    );
}
