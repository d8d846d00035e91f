//! Redis Sentinel, for real: a master, a replica and three Sentinels; two BFF replicas on
//! fred's `redis-sentinel://` URL. The master is killed with `kill -9`: while the replica
//! is promoted the BFF answers 503, never 401; then the same session is served again, the
//! refresh stays single-flight (during the failover and after it), and the near cache
//! tracks the new master (a logout on one replica reaches the other's cache).

use std::time::{Duration, Instant};

use crate::failover::{
    Probe, Replicas, api, bearers, fifty_parallel, logout_reaches, two_replicas,
};
use crate::redis_topology::{self, SentinelSet, replicated};
use crate::sessions::{login_with_cookie, session_status};
use crate::{eventually, loud, until_token_expired};

/// Short-lived access tokens: refreshes happen within the test.
const ACCESS_TOKEN_SECONDS: u64 = 4;

#[tokio::test(flavor = "multi_thread")]
async fn sentinel_failover_serves_the_same_session_and_never_logs_out() {
    if !redis_topology::available("sentinel_failover_serves_the_same_session_and_never_logs_out") {
        return;
    }
    let mut set = SentinelSet::start().await;
    let Replicas {
        provider: _provider,
        counter,
        echo,
        a,
        b,
    } = two_replicas(set.url(), ACCESS_TOKEN_SECONDS).await;
    let (client, cookie) = login_with_cookie(&a).await;
    let (_other_client, other_cookie) = login_with_cookie(&b).await;
    for bff in [&a, &b] {
        assert_eq!(api(&bff.url, &cookie, "/before").await, 200);
    }
    replicated(set.master.port, set.replica.port).await;

    // The token has expired and nobody has asked for a refresh yet: the first refresh
    // can only happen on the promoted replica, with every probe loop racing for it.
    until_token_expired(&client, &a.url).await;
    assert_eq!(counter.refreshes(), 0);
    set.master.kill9().await;
    let killed = Instant::now();
    let probe = Probe::start(&[a.url.as_str(), b.url.as_str()], &cookie, 4);
    let promoted = eventually(
        Duration::from_secs(30),
        "the Sentinels to promote the replica",
        || async { (set.master_port().await == Some(set.replica.port)).then(|| killed.elapsed()) },
    )
    .await;
    let recovered = eventually(
        Duration::from_secs(30),
        "both BFF replicas to serve the session again",
        || async {
            for bff in [&a, &b] {
                if api(&bff.url, &cookie, "/recovered").await != 200 {
                    return None;
                }
            }
            Some(killed.elapsed())
        },
    )
    .await;
    let outcome = probe.stop().await;
    loud(&format!(
        "sentinel failover: master killed → replica promoted after {promoted:?}, both BFF \
         replicas serving after {recovered:?}; probe: {} requests {:?}, gap (first 503 → \
         first 200 again) per replica {:?}",
        outcome.requests(),
        outcome.statuses,
        outcome.gaps
    ));
    outcome.assert_no_logout("sentinel failover");
    assert_eq!(
        counter.refreshes(),
        1,
        "one refresh at the provider during the failover"
    );
    assert_eq!(
        bearers(&echo, "/probe/").len(),
        1,
        "every 200 used that one token"
    );
    for bff in [&a, &b] {
        assert_eq!(session_status(bff, &cookie).await, 200, "the same session");
    }

    // After the failover: single-flight again, across both replicas, on the new master.
    until_token_expired(&client, &a.url).await;
    fifty_parallel(&[&a, &b], &cookie, &echo, "after").await;
    assert_eq!(counter.refreshes(), 2, "exactly one more refresh");

    // The near cache tracks the new master: a logout through A reaches B's cache.
    let seen = logout_reaches(&a, &other_cookie, false, &b, &other_cookie).await;
    loud(&format!(
        "sentinel failover: after promotion, replica B refused a session logged out on A after {seen:?}"
    ));
    assert!(seen < Duration::from_secs(1), "took {seen:?}");
}
