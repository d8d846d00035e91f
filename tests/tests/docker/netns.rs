//! Compose's network, made of the kernel's parts: one network namespace per service, each
//! with a veth on a private bridge (10.213.N.0/24, the host at .1), and an `/etc/hosts`
//! (`/etc/netns/<ns>/hosts`, which `ip netns exec` mounts) naming every service, as
//! compose's DNS does. Everything is removed on drop, panics included; leftovers of dead
//! runs (names carry the pid) are removed first.

use std::collections::BTreeMap;
use std::process::Command;

const PREFIX: &str = "lkc";

pub struct Network {
    pub bridge: String,
    addresses: BTreeMap<String, String>,
    namespaces: BTreeMap<String, String>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must(args: &[&str]) {
    ip(args).unwrap_or_else(|e| panic!("{e}"));
}

/// Why namespaces cannot be made here, if they cannot (not root, no `ip`, no permission).
pub fn unavailable() -> Option<String> {
    let probe = format!("{PREFIX}{}-probe", std::process::id());
    match ip(&["netns", "add", &probe]) {
        Ok(()) => {
            let _ = ip(&["netns", "del", &probe]);
            None
        }
        Err(error) => Some(error),
    }
}

fn pid_of(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    rest.split(['-', ' ']).next()?.parse().ok()
}

/// Namespaces and bridges whose run has died (its pid is gone).
fn remove_leftovers() {
    let list = Command::new("ip").args(["-o", "link", "show"]).output();
    let netns = Command::new("ip").args(["netns", "list"]).output();
    let dead = |name: &str| {
        pid_of(name).is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
    };
    if let Ok(out) = netns {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if dead(name) {
                let _ = ip(&["netns", "del", name]);
                let _ = std::fs::remove_dir_all(format!("/etc/netns/{name}"));
            }
        }
    }
    if let Ok(out) = list {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split(':').nth(1).unwrap_or("").trim();
            if let Some(rest) = name.strip_prefix("lkb")
                && dead(&format!("{PREFIX}{rest}"))
            {
                let _ = ip(&["link", "del", name]);
            }
        }
    }
}

/// A /24 under 10.213.0.0/16 that no interface here uses yet.
fn free_subnet() -> u8 {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .expect("ip addr");
    let used = String::from_utf8_lossy(&out.stdout).into_owned();
    let start = u8::try_from(std::process::id() % 250).expect("< 250");
    (0..250u8)
        .map(|i| 1 + (start + i) % 250)
        .find(|n| !used.contains(&format!("10.213.{n}.")))
        .expect("a free 10.213.N.0/24")
}

impl Network {
    pub fn create(services: &[&str]) -> Self {
        remove_leftovers();
        let pid = std::process::id();
        let subnet = free_subnet();
        let bridge = format!("lkb{pid}");
        let gateway = format!("10.213.{subnet}.1");
        let mut network = Self {
            bridge: bridge.clone(),
            addresses: BTreeMap::new(),
            namespaces: BTreeMap::new(),
        };
        must(&["link", "add", &bridge, "type", "bridge"]);
        must(&["addr", "add", &format!("{gateway}/24"), "dev", &bridge]);
        must(&["link", "set", &bridge, "up"]);
        for (i, service) in services.iter().enumerate() {
            network
                .addresses
                .insert((*service).to_owned(), format!("10.213.{subnet}.{}", i + 2));
        }
        let hosts: String = [
            "127.0.0.1\tlocalhost".to_owned(),
            "::1\tlocalhost".to_owned(),
        ]
        .into_iter()
        .chain(
            network
                .addresses
                .iter()
                .map(|(name, addr)| format!("{addr}\t{name}")),
        )
        .map(|line| line + "\n")
        .collect();
        for (i, service) in services.iter().enumerate() {
            let ns = format!("{PREFIX}{pid}-{service}");
            must(&["netns", "add", &ns]);
            network.namespaces.insert((*service).to_owned(), ns.clone());
            std::fs::create_dir_all(format!("/etc/netns/{ns}")).expect("/etc/netns");
            std::fs::write(format!("/etc/netns/{ns}/hosts"), &hosts).expect("hosts");
            let (outer, inner) = (format!("lkv{pid}{i}"), format!("lkp{pid}{i}"));
            must(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ]);
            must(&["link", "set", &inner, "netns", &ns]);
            must(&["link", "set", &outer, "master", &bridge, "up"]);
            let address = format!("{}/24", network.addresses[*service]);
            must(&["-n", &ns, "link", "set", &inner, "name", "eth0"]);
            must(&["-n", &ns, "addr", "add", &address, "dev", "eth0"]);
            must(&["-n", &ns, "link", "set", "eth0", "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        network
    }

    pub fn namespace(&self, service: &str) -> &str {
        &self.namespaces[service]
    }

    pub fn address(&self, service: &str) -> &str {
        &self.addresses[service]
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for ns in self.namespaces.values() {
            let _ = ip(&["netns", "del", ns]);
            let _ = std::fs::remove_dir_all(format!("/etc/netns/{ns}"));
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}
