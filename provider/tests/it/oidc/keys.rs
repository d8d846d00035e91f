//! Signing keys: stored sealed, RS256 or ES256, rotation keeps old keys published,
//! shared by several processes on one PostgreSQL.

use super::{code, exchange, jwks, signed_in, verify};
use crate::on_both;
use crate::support::{Backend, ScratchDb, TestApp};
use jsonwebtoken::Algorithm;
use latchkey_provider::oidc::keys::{self, SigningAlg};

on_both!(rotation_keeps_old_keys_published, es256_is_selectable);

async fn rotation_keeps_old_keys_published(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_rotate").await else {
        return;
    };
    let (id, secret, tok) = signed_in(&t, "&scope=openid").await;
    let old = tok["id_token"].as_str().unwrap().to_owned();
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();
    // The private key is stored sealed, not as PKCS#8 in the clear.
    let stored = t.server.db.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].private_key.contains("MII") && !stored[0].private_key.contains("PRIVATE"));
    assert!(
        !stored[0].public_jwk.contains("\"d\""),
        "no private part in the JWK"
    );

    let (new_kid, _) = keys::rotate(&t.server.db, SigningAlg::Rs256, 3600)
        .await
        .unwrap();
    t.server.oidc.keys.forget();
    let c = code(&t, &id, "&scope=openid").await;
    let fresh = exchange(&t, &id, &secret, &c).await;
    let fresh = fresh["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(fresh).unwrap().kid.unwrap(),
        new_kid
    );
    let set = jwks(&t).await;
    assert_eq!(set.keys.len(), 2);
    // Both verify against the published set: the old token has not expired.
    verify(&set, &old, &t.base, &id);
    verify(&set, fresh, &t.base, &id);
    assert!(set.find(&old_kid).is_some());

    // A retired key whose time is up is dropped (here at once: kept "-1000 s");
    // the first one still has its 3600 s.
    let (third, dropped) = keys::rotate(&t.server.db, SigningAlg::Rs256, -1000)
        .await
        .unwrap();
    assert_eq!(dropped, 1);
    let set = jwks(&t).await;
    assert!(set.find(&third).is_some() && set.find(&old_kid).is_some());
    assert!(set.find(&new_kid).is_none());
}

async fn es256_is_selectable(b: Backend) {
    let Some(t) =
        TestApp::spawn_with(b, "oidc_es256", |s| s.oidc.signing_alg = SigningAlg::Es256).await
    else {
        return;
    };
    let (id, _, tok) = signed_in(&t, "&scope=openid").await;
    let token = tok["id_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(token).unwrap().alg,
        Algorithm::ES256
    );
    let set = jwks(&t).await;
    assert_eq!(set.keys.len(), 1);
    let c = verify(&set, token, &t.base, &id);
    assert_eq!(
        c["at_hash"],
        latchkey_provider::oidc::id_token::at_hash(tok["access_token"].as_str().unwrap())
    );
    let jwk = serde_json::to_value(&set.keys[0]).unwrap();
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["alg"], "ES256");
}

/// Two `provider serve` processes on one PostgreSQL: one key, made once, published by
/// both; an ID Token from one verifies with the other's JWKS; `rotatekeys` is seen by both.
#[tokio::test]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "SKIPPED: LATCHKEY_TEST_POSTGRES_URL was unset when the tests were built"
)]
async fn two_processes_share_the_signing_key() {
    use crate::cli::provider;
    use crate::multiprocess::serve;
    let Some(db) = ScratchDb::new(Backend::Postgres, "oidc_two_processes").await else {
        return;
    };
    // Both start at once: first start races; every process still signs with the same key.
    let ((_a, a), (_b, b)) = tokio::join!(serve(&db.url, &[]), serve(&db.url, &[]));
    let http = reqwest::Client::new();
    let set = |base: String| {
        let http = http.clone();
        async move {
            http.get(format!("{base}/oauth2/.well-known/jwks.json"))
                .send()
                .await
                .unwrap()
                .json::<jsonwebtoken::jwk::JwkSet>()
                .await
                .unwrap()
        }
    };
    let (ja, jb) = (set(a.clone()).await, set(b.clone()).await);
    assert_eq!(ja, jb);
    assert!(!ja.keys.is_empty());
    let out = provider(&db.url, &["rotatekeys"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("New signing key"), "{stdout}");
    let (ja2, jb2) = (set(a).await, set(b).await);
    assert_eq!(ja2, jb2);
    assert_eq!(
        ja2.keys.len(),
        ja.keys.len() + 1,
        "the new key is published at once"
    );
}
