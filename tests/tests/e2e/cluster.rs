//! Redis Cluster, for real: three masters with a replica each (`redis-cli --cluster
//! create`), two BFF replicas on fred's `redis-cluster://` URL. Login, proxying,
//! single-flight refresh across the replicas, a master killed with `kill -9` (its replica
//! takes over: 503 meanwhile, never 401), then logout and sign-out-everywhere through the
//! per-user index, whose sessions live in other slots than the index itself.
//!
//! How the index copes with slots: the index is one key (one slot), changed only by
//! single-key Lua scripts; the sessions it lists are deleted one key at a time, each
//! routed to its own slot's master. Nothing needs a multi-key command.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::failover::{
    Outcome, Probe, Replicas, api, fifty_parallel, logout_reaches, two_replicas,
};
use crate::redis_topology::{self, Cluster, cli, replicated};
use crate::sessions::{login_with_cookie, session_status};
use crate::{eventually, loud, until_token_expired};

const ACCESS_TOKEN_SECONDS: u64 = 4;

fn is_session_key(key: &str) -> bool {
    !key.starts_with("latchkey-bff:")
}

/// Keys per master port.
async fn key_map(cluster: &Cluster) -> BTreeMap<u16, Vec<String>> {
    let mut map = BTreeMap::new();
    for master in cluster.masters().await {
        map.insert(master, Cluster::keys_on(master).await);
    }
    map
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_sessions_refresh_failover_and_sign_out_everywhere() {
    if !redis_topology::available("cluster_sessions_refresh_failover_and_sign_out_everywhere") {
        return;
    }
    let mut cluster = Cluster::start().await;
    let Replicas {
        provider: _provider,
        counter,
        echo,
        a,
        b,
    } = two_replicas(cluster.url(), ACCESS_TOKEN_SECONDS).await;
    // Three sessions of one user, opened on both replicas.
    let (client, first) = login_with_cookie(&a).await;
    let (_c2, second) = login_with_cookie(&b).await;
    let (_c3, third) = login_with_cookie(&a).await;
    let cookies = [first.clone(), second.clone(), third.clone()];
    for bff in [&a, &b] {
        for cookie in &cookies {
            assert_eq!(api(&bff.url, cookie, "/hello").await, 200);
        }
    }
    let keys = key_map(&cluster).await;
    loud(&format!(
        "cluster: keys per master after three logins: {keys:?}"
    ));
    let sessions: usize = keys
        .values()
        .map(|k| k.iter().filter(|k| is_session_key(k)).count())
        .sum();
    assert_eq!(sessions, 3, "three session records: {keys:?}");

    // Refresh single-flight across the two replicas.
    until_token_expired(&client, &a.url).await;
    let before = counter.refreshes();
    fifty_parallel(&[&a, &b], &first, &echo, "burst").await;
    assert_eq!(counter.refreshes() - before, 1, "one refresh for 50 calls");

    // kill -9 a master that holds a session record (the user index's, if it does).
    let keys = key_map(&cluster).await;
    let victim = keys
        .iter()
        .filter(|(_, k)| k.iter().any(|k| is_session_key(k)))
        .max_by_key(|(_, k)| k.iter().any(|k| k.starts_with("latchkey-bff:user:")))
        .map(|(port, _)| *port)
        .expect("a master with a session");
    let replicas = cluster.replicas().await;
    let heir = replicas
        .iter()
        .find(|(_, m)| *m == victim)
        .map(|(r, _)| *r)
        .expect("the victim's replica");
    replicated(victim, heir).await;
    cluster.node_mut(victim).kill9().await;
    let killed = Instant::now();
    let probes: Vec<Probe> = cookies
        .iter()
        .map(|c| Probe::start(&[a.url.as_str(), b.url.as_str()], c, 2))
        .collect();
    let promoted = eventually(
        Duration::from_secs(30),
        "the replica to take over",
        || async {
            cli(heir, &["ROLE"])
                .await
                .starts_with("master")
                .then(|| killed.elapsed())
        },
    )
    .await;
    let recovered = eventually(
        Duration::from_secs(30),
        "every session served again on both replicas",
        || async {
            for bff in [&a, &b] {
                for cookie in &cookies {
                    if api(&bff.url, cookie, "/recovered").await != 200 {
                        return None;
                    }
                }
            }
            Some(killed.elapsed())
        },
    )
    .await;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for probe in probes {
        outcomes.push(probe.stop().await);
    }
    loud(&format!(
        "cluster failover: master :{victim} killed → replica :{heir} master after \
         {promoted:?}, every session on both BFF replicas after {recovered:?}; probes per \
         session: {:?}",
        outcomes
            .iter()
            .map(|o| (o.requests(), o.statuses.clone(), o.gap()))
            .collect::<Vec<_>>()
    ));
    for outcome in &outcomes {
        outcome.assert_no_logout("cluster failover");
    }
    assert!(
        outcomes.iter().any(|o| o.gap().is_some()),
        "the killed master held a session: some probe saw the outage"
    );

    // After the failover: single-flight again.
    until_token_expired(&client, &a.url).await;
    let before = counter.refreshes();
    fifty_parallel(&[&a, &b], &first, &echo, "after").await;
    assert_eq!(
        counter.refreshes() - before,
        1,
        "one refresh after the failover"
    );

    // A logout on A reaches B's near cache (tracking on every node, the new master too).
    let seen = logout_reaches(&a, &second, false, &b, &second).await;
    loud(&format!(
        "cluster: a logout on A refused by B after {seen:?}"
    ));
    assert!(seen < Duration::from_secs(1), "took {seen:?}");

    // Sign out everywhere from the first session on B: the third, warm on A, ends too.
    let seen = logout_reaches(&b, &first, true, &a, &third).await;
    loud(&format!(
        "cluster: sign-out-everywhere on B refused by A after {seen:?}"
    ));
    assert!(seen < Duration::from_secs(1), "took {seen:?}");
    for bff in [&a, &b] {
        for cookie in &cookies {
            assert_eq!(session_status(bff, cookie).await, 401);
        }
    }
    let left = key_map(&cluster).await;
    assert!(
        left.values()
            .flatten()
            .all(|k| k.starts_with("latchkey-bff:refresh-lock:")),
        "no session and no index left in any slot: {left:?}"
    );
}
