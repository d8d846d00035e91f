//! Each compose service as a [`Spec`] and argv: image-built ones from the runtime layer
//! (compose's `command`, else the image's CMD), the two official images by Debian's own
//! `redis-server` and PostgreSQL, prepared as those images' entrypoints would.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::compose::Service;
use crate::container::Spec;
use crate::image::Image;
use crate::runtime::{chown, host};

pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    /// A named volume's directory; on first use it takes the owner of what the image has at
    /// the mount point, as the engine copies it into an empty volume.
    pub fn volume(&self, name: &str, image_owner: Option<u32>) -> PathBuf {
        let dir = self.dir.join("volumes").join(name);
        if !dir.exists() {
            std::fs::create_dir_all(&dir).expect("volume dir");
            if let Some(uid) = image_owner {
                chown(&dir, uid);
            }
        }
        dir
    }

    pub fn logs(&self) -> PathBuf {
        let dir = self.dir.join("logs");
        std::fs::create_dir_all(&dir).expect("logs");
        dir
    }
}

fn uid_of(user: &str) -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f[0] == user).then(|| f[2].parse().expect("uid"))
        })
        .unwrap_or_else(|| panic!("no user {user} (install the package that owns it)"))
}

fn run_ok(command: &mut Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Spec and argv for a service built from the Dockerfile.
pub fn built(
    service: &Service,
    image: &Image,
    scratch: &Scratch,
    namespace: &str,
) -> (Spec, Vec<String>) {
    let layer = &image.layer;
    let root = scratch.dir.join("roots").join(&service.name);
    if !root.exists() {
        std::fs::create_dir_all(&root).expect("root");
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))
            .expect("chmod root");
        for entry in std::fs::read_dir(&layer.dir).expect("layer") {
            let path = entry.expect("entry").path();
            if path.file_name().is_some_and(|n| n != "usr") {
                run_ok(
                    Command::new("cp").arg("-a").arg(&path).arg(&root),
                    "copy the layer",
                );
            }
        }
        for dir in ["usr", "etc", "dev", "proc", "tmp"] {
            std::fs::create_dir_all(root.join(dir)).expect("mount point");
        }
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .expect("chmod /tmp");
        for link in ["bin", "lib", "lib64", "sbin"] {
            let _ = std::os::unix::fs::symlink(format!("usr/{link}"), root.join(link));
        }
    }
    let mut binds = vec![(
        host(&layer.dir, "/usr/local/bin"),
        "/usr/local/bin".to_owned(),
        true,
    )];
    for (source, target, ro) in &service.volumes {
        let owner = std::fs::metadata(host(&root, target))
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
        std::fs::create_dir_all(host(&root, target)).expect("volume mount point");
        binds.push((scratch.volume(source, owner), target.clone(), *ro));
    }
    let spec = Spec {
        name: service.name.clone(),
        namespace: namespace.to_owned(),
        root: Some(root),
        binds,
        uid: Some(layer.uid),
        workdir: layer.workdir.clone(),
        env: [("HOME".to_owned(), layer.workdir.clone())]
            .into_iter()
            .chain(service.environment.iter().cloned())
            .collect(),
    };
    (
        spec,
        service.command.clone().unwrap_or_else(|| layer.cmd.clone()),
    )
}

/// Spec and argv for `image:` services, by Debian's packages.
pub fn stand_in(service: &Service, scratch: &Scratch, namespace: &str) -> (Spec, Vec<String>) {
    let image = service.image.as_deref().unwrap_or_default();
    let work = scratch.dir.join(&service.name);
    std::fs::create_dir_all(&work).expect("service dir");
    let mut spec = Spec {
        name: service.name.clone(),
        namespace: namespace.to_owned(),
        root: None,
        binds: Vec::new(),
        uid: None,
        workdir: work.display().to_string(),
        env: service.environment.clone(),
    };
    if image.starts_with("redis:") {
        // The official image compiles protected mode off ("unnecessary in a container").
        let mut argv = service
            .command
            .clone()
            .unwrap_or_else(|| vec!["redis-server".into()]);
        argv.extend(["--protected-mode".into(), "no".into()]);
        spec.uid = Some(uid_of("redis"));
        chown(&work, uid_of("redis"));
        return (spec, argv);
    }
    if image.starts_with("postgres:") {
        let argv = postgres(service, scratch, &mut spec);
        return (spec, argv);
    }
    panic!("no stand-in for image {image} (service {})", service.name);
}

fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL from Debian's packages")
        .map(|e| e.expect("entry").path().join("bin"))
        .filter(|p| p.join("postgres").is_file())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().expect("a PostgreSQL server")
}

/// The official image's entrypoint: `initdb` with POSTGRES_USER/PASSWORD into the data
/// volume, POSTGRES_DB created, `listen_addresses='*'`, password (scram) auth for every
/// host but loopback; the server as the `postgres` user, its socket in the usual place.
fn postgres(service: &Service, scratch: &Scratch, spec: &mut Spec) -> Vec<String> {
    let env = |key: &str| {
        service
            .environment
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let user = env("POSTGRES_USER").unwrap_or_else(|| "postgres".into());
    let password = env("POSTGRES_PASSWORD").expect("POSTGRES_PASSWORD (the image requires it)");
    let database = env("POSTGRES_DB").unwrap_or_else(|| user.clone());
    let uid = uid_of("postgres");
    let (source, _, _) = service
        .volumes
        .iter()
        .find(|(_, target, _)| target == "/var/lib/postgresql/data")
        .expect("the postgres data volume");
    let data = scratch.volume(source, Some(uid));
    let run_dir = scratch.dir.join("postgres-run");
    std::fs::create_dir_all(&run_dir).expect("socket dir");
    chown(&run_dir, uid);
    let bin = postgres_bin();
    let as_postgres = |program: &str| {
        let mut command = Command::new("setpriv");
        command
            .args([
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
            ])
            .arg(bin.join(program))
            .current_dir(&data);
        command
    };
    if !data.join("PG_VERSION").exists() {
        let pwfile = scratch.dir.join("postgres-password");
        std::fs::write(&pwfile, format!("{password}\n")).expect("pwfile");
        chown(&pwfile, uid);
        run_ok(
            as_postgres("initdb")
                .arg("-D")
                .arg(&data)
                .arg(format!("--username={user}"))
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        );
        let hba = data.join("pg_hba.conf");
        let mut text = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        text.push_str("\nhost all all all scram-sha-256\n");
        std::fs::write(&hba, text).expect("pg_hba.conf");
        if database != "postgres" {
            let mut single = as_postgres("postgres");
            single.args(["--single", "-D"]).arg(&data).arg("postgres");
            let sql = format!("CREATE DATABASE \"{database}\";\n");
            run_with_stdin(&mut single, &sql, "create POSTGRES_DB");
        }
    }
    spec.binds
        .push((run_dir, "/var/run/postgresql".into(), false));
    spec.uid = Some(uid);
    spec.workdir = data.display().to_string();
    vec![
        bin.join("postgres").display().to_string(),
        "-D".into(),
        data.display().to_string(),
        "-c".into(),
        "listen_addresses=*".into(),
    ]
}

fn run_with_stdin(command: &mut Command, input: &str, what: &str) {
    use std::io::Write as _;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `Path` helper for callers: a volume's file.
pub fn in_volume(scratch: &Scratch, volume: &str, file: &str) -> PathBuf {
    scratch
        .dir
        .join("volumes")
        .join(volume)
        .join(Path::new(file))
}
