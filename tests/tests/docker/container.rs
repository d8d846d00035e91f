//! One service's "container": every process of it (its command, its healthcheck, a rerun)
//! is started by `ip netns exec` in the service's namespace, which also gives it a private
//! mount namespace; there its volumes are bind-mounted, and for an image-built service a
//! root is assembled (the host's /usr, /etc, /dev, a fresh /proc, the image layer's files,
//! its /usr/local/bin) and entered with `chroot` as the image's `USER`, in its `WORKDIR`,
//! with only the image's and the compose file's environment.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Docker's default `PATH`.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub namespace: String,
    /// The chroot, for image-built services; `None` runs on the host's files.
    pub root: Option<PathBuf>,
    /// Host directory over a directory of the root (or of the host): (source, target, ro).
    pub binds: Vec<(PathBuf, String, bool)>,
    pub uid: Option<u32>,
    pub workdir: String,
    pub env: Vec<(String, String)>,
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Spec {
    /// The script run in the namespace: mounts, then `exec` of `argv` as the service.
    fn script(&self) -> String {
        let mut script = String::from("set -e\n");
        let inside = |target: &str| match &self.root {
            Some(root) => root
                .join(target.trim_start_matches('/'))
                .display()
                .to_string(),
            None => target.to_owned(),
        };
        let mut bind = |source: &str, target: &str, ro: bool, recursive: bool| {
            let flag = if recursive { "--rbind" } else { "--bind" };
            script.push_str(&format!(
                "mount {flag} {} {}\n",
                quote(source),
                quote(target)
            ));
            if ro {
                script.push_str(&format!("mount -o remount,bind,ro {}\n", quote(target)));
            }
        };
        if self.root.is_some() {
            for dir in ["/usr", "/etc", "/dev"] {
                bind(dir, &inside(dir), dir != "/dev", true);
            }
        }
        for (source, target, ro) in &self.binds {
            bind(&source.display().to_string(), &inside(target), *ro, false);
        }
        if self.root.is_some() {
            script.push_str(&format!("mount -t proc proc {}\n", quote(&inside("/proc"))));
        }
        let enter = format!("cd {} && exec \"$@\"", quote(&self.workdir));
        match (&self.root, self.uid) {
            (Some(root), uid) => {
                let uid = uid.unwrap_or(0);
                script.push_str(&format!(
                    "exec chroot --userspec={uid}:{uid} {} /bin/sh -c {} sh \"$@\"\n",
                    quote(&root.display().to_string()),
                    quote(&enter)
                ));
            }
            (None, Some(uid)) => script.push_str(&format!(
                "cd {}\nexec setpriv --reuid={uid} --regid={uid} --clear-groups \"$@\"\n",
                quote(&self.workdir)
            )),
            (None, None) => script.push_str(&format!("{enter}\n")),
        }
        script
    }

    /// `argv` as this service runs it.
    pub fn command(&self, argv: &[String]) -> Command {
        let mut command = Command::new("ip");
        command
            .args([
                "netns",
                "exec",
                &self.namespace,
                "sh",
                "-c",
                &self.script(),
                "sh",
            ])
            .args(argv)
            .env_clear()
            .env("PATH", PATH)
            .env("HOSTNAME", &self.name)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs the healthcheck once, as compose does (`timeout` per attempt).
    pub async fn healthy(&self, check: &[String], timeout: Duration) -> bool {
        let mut command = tokio::process::Command::from(self.command(check));
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let run = async { command.status().await.is_ok_and(|s| s.success()) };
        tokio::time::timeout(timeout, run).await.unwrap_or(false)
    }
}

/// A running service: its process group is killed on drop.
pub struct Container {
    pub log: PathBuf,
    child: std::process::Child,
}

impl Container {
    pub fn start(spec: &Spec, argv: &[String], logs: &Path) -> Self {
        let log = logs.join(format!("{}.log", spec.name));
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let child = std::os::unix::process::CommandExt::process_group(&mut spec.command(argv), 0)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", spec.name));
        Self { log, child }
    }

    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// The last lines of what the service printed (for failure messages).
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}
