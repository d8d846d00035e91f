//! Real Redis topologies started by the tests: a master with a replica watched by three
//! Sentinels, and a Redis Cluster of three masters with a replica each. Every process is
//! a `redis-server` on a free 127.0.0.1 port in a temp dir, killed when dropped.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::eventually;
use crate::harness::TempDir;
use crate::redis_down::REDIS_SERVER;

pub const REDIS_CLI: &str = "/usr/bin/redis-cli";

/// `true` when redis-server and redis-cli are installed; otherwise says so loudly (and
/// fails when CI asked for the Redis tests with `LATCHKEY_TEST_REDIS_URL`).
pub fn available(test: &str) -> bool {
    if std::path::Path::new(REDIS_SERVER).exists() && std::path::Path::new(REDIS_CLI).exists() {
        return true;
    }
    crate::loud(&format!(
        "SKIPPED: {test} needs {REDIS_SERVER} and {REDIS_CLI} (apt-get install redis-server)"
    ));
    assert!(
        std::env::var_os("LATCHKEY_TEST_REDIS_URL").is_none(),
        "LATCHKEY_TEST_REDIS_URL is set but redis-server is missing"
    );
    false
}

/// A free port `p` whose cluster bus port `p + 10000` is free too.
pub fn free_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        if port <= 55_535 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// `redis-cli -p PORT ARGS…`, its stdout trimmed (empty when the server is gone).
pub async fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(REDIS_CLI)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// One field of `INFO <section>`.
pub async fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let info = cli(port, &["INFO", section]).await;
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(str::to_owned)
}

pub struct Node {
    pub port: u16,
    child: Child,
}

impl Node {
    /// A redis-server with `args`, its working dir `dir/<port>`.
    async fn start(dir: &std::path::Path, port: u16, args: &[String]) -> Self {
        let dir = dir.join(port.to_string());
        std::fs::create_dir_all(&dir).expect("node dir");
        let child = Command::new(REDIS_SERVER)
            .args(args)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server");
        eventually(
            Duration::from_secs(10),
            "redis-server to answer",
            || async { (cli(port, &["PING"]).await == "PONG").then_some(()) },
        )
        .await;
        Self { port, child }
    }

    /// `kill -9`: no shutdown, no goodbye to replicas or clients.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("kill -9 redis-server");
    }
}

fn args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
        .iter()
        .chain(["--save", "", "--appendonly", "no"].iter())
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Waits until the replica at `replica` has everything its master at `master` wrote
/// (replication offsets equal), so a failover loses nothing the test relies on.
pub async fn replicated(master: u16, replica: u16) {
    eventually(
        Duration::from_secs(10),
        "the replica to catch up",
        || async {
            let m = info_field(master, "replication", "master_repl_offset").await?;
            let r = info_field(replica, "replication", "slave_repl_offset").await?;
            (m == r).then_some(())
        },
    )
    .await;
}

pub const SERVICE: &str = "mymaster";

/// A master, its replica and three Sentinels (quorum 2, down after 1 s).
pub struct SentinelSet {
    pub master: Node,
    pub replica: Node,
    pub sentinels: Vec<Node>,
    _dir: TempDir,
}

impl SentinelSet {
    pub async fn start() -> Self {
        let dir = TempDir::new("sentinel");
        let (mp, rp) = (free_port(), free_port());
        let master = Node::start(&dir.0, mp, &args(mp, &[])).await;
        let replica = Node::start(
            &dir.0,
            rp,
            &args(rp, &["--replicaof", "127.0.0.1", &mp.to_string()]),
        )
        .await;
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.0.join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\n\
                     sentinel monitor {SERVICE} 127.0.0.1 {mp} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\n\
                     sentinel failover-timeout {SERVICE} 3000\n\
                     sentinel parallel-syncs {SERVICE} 1\n"
                ),
            )
            .expect("sentinel.conf");
            let args = vec![conf.display().to_string(), "--sentinel".to_owned()];
            sentinels.push(Node::start(&dir.0, port, &args).await);
        }
        let set = Self {
            master,
            replica,
            sentinels,
            _dir: dir,
        };
        // Every Sentinel knows the replica and the two other Sentinels.
        for s in &set.sentinels {
            eventually(Duration::from_secs(20), "sentinels to meet", || async {
                let ok = cli(s.port, &["SENTINEL", "CKQUORUM", SERVICE]).await;
                let replicas = cli(s.port, &["SENTINEL", "REPLICAS", SERVICE]).await;
                let others = cli(s.port, &["SENTINEL", "SENTINELS", SERVICE]).await;
                (ok.starts_with("OK")
                    && replicas.contains(&rp.to_string())
                    && others.matches("127.0.0.1").count() >= 2)
                    .then_some(())
            })
            .await;
        }
        set
    }

    /// fred's Sentinel URL form: the first Sentinel, the others as `node=`.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.sentinels[1..]
            .iter()
            .map(|s| format!("node=127.0.0.1:{}", s.port))
            .collect();
        format!(
            "redis-sentinel://127.0.0.1:{}/0?sentinelServiceName={SERVICE}&{}",
            self.sentinels[0].port,
            nodes.join("&")
        )
    }

    /// The master's port as the first Sentinel reports it.
    pub async fn master_port(&self) -> Option<u16> {
        let reply = cli(
            self.sentinels[0].port,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE],
        )
        .await;
        reply.lines().nth(1)?.trim().parse().ok()
    }
}

/// Three masters with one replica each, made by `redis-cli --cluster create`.
pub struct Cluster {
    pub nodes: Vec<Node>,
    _dir: TempDir,
}

impl Cluster {
    pub async fn start() -> Self {
        let dir = TempDir::new("cluster");
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let port = free_port();
            let extra = [
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "1000",
                "--cluster-config-file",
                "nodes.conf",
            ];
            nodes.push(Node::start(&dir.0, port, &args(port, &extra)).await);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new(REDIS_CLI)
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .await
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes, _dir: dir };
        for node in &cluster.nodes {
            eventually(Duration::from_secs(20), "cluster_state:ok", || async {
                let state = info_field_cluster(node.port).await;
                (state.as_deref() == Some("ok")).then_some(())
            })
            .await;
        }
        eventually(Duration::from_secs(20), "three replicas", || async {
            (cluster.replicas().await.len() == 3).then_some(())
        })
        .await;
        cluster
    }

    /// fred's cluster URL form: one node, the other masters as `node=`.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.nodes[1..3]
            .iter()
            .map(|n| format!("node=127.0.0.1:{}", n.port))
            .collect();
        format!(
            "redis-cluster://127.0.0.1:{}?{}",
            self.nodes[0].port,
            nodes.join("&")
        )
    }

    /// (replica port, its master's port) for every live replica with a live link.
    pub async fn replicas(&self) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        for node in &self.nodes {
            let role = cli(node.port, &["ROLE"]).await;
            let mut lines = role.lines();
            if lines.next() == Some("slave") {
                let _host = lines.next();
                let master = lines.next().and_then(|p| p.trim().parse().ok());
                let link = info_field(node.port, "replication", "master_link_status").await;
                if let (Some(master), Some("up")) = (master, link.as_deref()) {
                    out.push((node.port, master));
                }
            }
        }
        out
    }

    /// Ports of the live masters.
    pub async fn masters(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for node in &self.nodes {
            if cli(node.port, &["ROLE"]).await.starts_with("master") {
                out.push(node.port);
            }
        }
        out
    }

    /// Every key held by the master at `port` (a cluster node lists only its own).
    pub async fn keys_on(port: u16) -> Vec<String> {
        cli(port, &["--scan"])
            .await
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn node_mut(&mut self, port: u16) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node on that port")
    }
}

async fn info_field_cluster(port: u16) -> Option<String> {
    let info = cli(port, &["CLUSTER", "INFO"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix("cluster_state:"))
        .map(|s| s.trim().to_owned())
}
