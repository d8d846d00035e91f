//! 50 MB up and down through the proxy, in bounded memory.

use futures_util::StreamExt;

use crate::browser;
use crate::harness::{Bff, BffOptions, Echo, Provider};

const SIZE: usize = 50 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn fifty_megabytes_each_way_streamed() {
    let provider = Provider::start(3600).await;
    let echo = Echo::start().await;
    let bff = Bff::start(
        &provider,
        BffOptions {
            upstream: Some(echo.url.clone()),
            skew: 30,
            ..BffOptions::default()
        },
    )
    .await;
    let client = browser::logged_in(&bff).await;
    // Warm up the paths, then take the baseline.
    let response = client
        .get(format!("{}/api/download/1024", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().len(), 1024);
    let baseline = bff.rss_kb();

    let chunk = bytes::Bytes::from(vec![b'u'; 256 * 1024]);
    let chunks = SIZE / chunk.len();
    let body = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let response = client
        .post(format!("{}/api/upload", bff.url))
        .header("x-csrf", "1")
        .header("content-length", SIZE.to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), SIZE.to_string());
    let after_upload = bff.rss_kb();

    let response = client
        .get(format!("{}/api/download/{SIZE}", bff.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut total = 0;
    let mut peak = after_upload;
    while let Some(chunk) = stream.next().await {
        total += chunk.unwrap().len();
        if total % (8 * 1024 * 1024) < 64 * 1024 {
            peak = peak.max(bff.rss_kb());
        }
    }
    assert_eq!(total, SIZE);
    let peak = peak.max(bff.rss_kb());
    let growth_mb = peak.saturating_sub(baseline) / 1024;
    crate::loud(&format!(
        "MEASURED: BFF RSS baseline {baseline} kB, peak {peak} kB, growth {growth_mb} MB for 50 MB each way"
    ));
    assert!(
        growth_mb < 25,
        "BFF memory grew by {growth_mb} MB: not streamed"
    );
}
