//! Seeding and measuring helpers for `bench/run`.
//!
//! - `codes`: log in at the provider once, mint N authorization codes (or, with
//!   `--exchange`, N refresh tokens), one per line on stdout.
//! - `bff-login`: log in through the BFF, print the session cookie `name=value`.
//! - `clone-sessions`: copy one BFF session record in Redis under N new ids
//!   (pipelined `SET … EXAT`), print the N cookie values to `--out`.
//! - `storm`: N concurrent GETs with one cookie; prints JSON with the wall time and statuses.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use latchkey_bff::session::ticket::{Keyring, Kind};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tower_sessions::session::{Id, Record};
use url::Url;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Codes {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        client_secret: Option<String>,
        #[arg(long)]
        redirect_uri: String,
        #[arg(short, long)]
        n: usize,
        /// Exchange each code and print the refresh token instead.
        #[arg(long)]
        exchange: bool,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    BffLogin {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        bff: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
    },
    CloneSessions {
        /// host:port of Redis
        #[arg(long)]
        redis: String,
        /// The template session's cookie value (its ticket).
        #[arg(long)]
        template: String,
        #[arg(short, long)]
        n: usize,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    Storm {
        #[arg(long)]
        url: String,
        /// `name=value`
        #[arg(long)]
        cookie: String,
        #[arg(short, long, default_value_t = 64)]
        n: usize,
    },
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()?)
}

fn location(response: &reqwest::Response, base: &Url) -> anyhow::Result<Url> {
    let value = response
        .headers()
        .get(LOCATION)
        .with_context(|| format!("expected a redirect, got {}", response.status()))?
        .to_str()?;
    Ok(base.join(value)?)
}

fn csrf_token(html: &str) -> anyhow::Result<String> {
    let at = html
        .find("csrfmiddlewaretoken")
        .context("no csrfmiddlewaretoken")?;
    let tag_start = html[..at].rfind('<').context("input tag")?;
    let tag_end = at + html[at..].find('>').context("end of tag")?;
    let tag = &html[tag_start..tag_end];
    let value = tag.split("value=\"").nth(1).context("value attribute")?;
    Ok(value[..value.find('"').context("quote")?].to_owned())
}

/// Signs in at the provider's login form; the session cookie stays in the client's jar.
async fn provider_login(
    client: &reqwest::Client,
    provider: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<()> {
    let page = Url::parse(&format!(
        "{}/accounts/login/?next=/healthz",
        provider.trim_end_matches('/')
    ))?;
    let html = client
        .get(page.clone())
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let token = csrf_token(&html)?;
    // The provider refuses a form post with neither Origin nor Referer, as a
    // browser would send: the page's own origin.
    let response = client
        .post(page.clone())
        .header("origin", page.origin().ascii_serialization())
        .form(&[
            ("username", username),
            ("password", password),
            ("next", "/healthz"),
            ("csrfmiddlewaretoken", token.as_str()),
        ])
        .send()
        .await?;
    if !response.status().is_redirection() {
        bail!("provider login failed: {}", response.status());
    }
    Ok(())
}

async fn mint_one(
    client: &reqwest::Client,
    provider: &str,
    client_id: &str,
    client_secret: Option<&str>,
    redirect_uri: &str,
    exchange: bool,
) -> anyhow::Result<String> {
    let base = Url::parse(provider)?;
    let mut authorize = base.join("/oauth2/authorize/")?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri);
    let response = client.get(authorize.clone()).send().await?;
    let target = location(&response, &authorize)?;
    let code = target
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .with_context(|| format!("no code in {target}"))?;
    if !exchange {
        return Ok(code);
    }
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
    ];
    if let Some(secret) = client_secret {
        form.push(("client_secret", secret));
    }
    let body: serde_json::Value = client
        .post(base.join("/oauth2/token/")?)
        .form(&form)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["refresh_token"]
        .as_str()
        .context("no refresh_token")?
        .to_owned())
}

async fn bff_login(
    provider: &str,
    bff: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let client = client()?;
    provider_login(&client, provider, username, password).await?;
    let start = Url::parse(&format!(
        "{}/auth/login?return_to=/",
        bff.trim_end_matches('/')
    ))?;
    let response = client.get(start.clone()).send().await?;
    let authorize = location(&response, &start)?;
    let response = client.get(authorize.clone()).send().await?;
    let callback = location(&response, &authorize)?;
    if callback.path() != "/auth/callback" {
        bail!("authorize did not come back to the BFF: {callback}");
    }
    let response = client.get(callback).send().await?;
    for value in response.headers().get_all(SET_COOKIE) {
        let value = value.to_str()?;
        let pair = value.split(';').next().unwrap_or_default();
        if let Some((name, v)) = pair.split_once('=')
            && (name == "latchkey-bff" || name == "__Host-latchkey-bff")
            && !v.is_empty()
        {
            return Ok(pair.to_owned());
        }
    }
    bail!(
        "no session cookie from the callback ({})",
        response.status()
    )
}

fn resp_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads one RESP reply; returns a bulk string's bytes (None for nil / simple replies).
async fn resp_reply<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> anyhow::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncBufReadExt as _;
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let line = line.trim_end();
    match line.as_bytes().first() {
        Some(b'+' | b':') => Ok(None),
        Some(b'-') => bail!("redis error: {line}"),
        Some(b'$') => {
            let len: i64 = line[1..].parse()?;
            if len < 0 {
                return Ok(None);
            }
            let mut buf = vec![0; usize::try_from(len)? + 2];
            reader.read_exact(&mut buf).await?;
            buf.truncate(buf.len() - 2);
            Ok(Some(buf))
        }
        _ => bail!("unexpected redis reply {line:?}"),
    }
}

async fn clone_sessions(
    redis: &str,
    template: &str,
    n: usize,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(redis.trim_start_matches("redis://")).await?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    // The BFF's session tickets: the record lives under an id derived from the cookie's
    // ticket, sealed with a key derived from it (no server key in the bench).
    let keys = Keyring::default();
    let ticket: Id = template
        .parse()
        .context("the template is a session cookie value")?;
    let derived = keys.derive(&ticket, Kind::Session);
    let mut cmd = Vec::new();
    let storage_key = derived.storage_id.to_string();
    resp_command(&mut cmd, &[b"GET", storage_key.as_bytes()]);
    write.write_all(&cmd).await?;
    let bytes = resp_reply(&mut reader)
        .await?
        .context("template session not found in Redis")?;
    let record: Record = rmp_serde::from_slice(&bytes)?;
    let plain = record
        .data
        .get("s")
        .and_then(|v| v.as_str())
        .and_then(|sealed| derived.open(sealed))
        .context("the template session does not open with its ticket")?;
    let exat = record.expiry_date.unix_timestamp().to_string();
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let reader_task = tokio::spawn(async move {
        for _ in 0..n {
            resp_reply(&mut reader).await?;
        }
        anyhow::Ok(())
    });
    let mut batch = Vec::new();
    let mut sample = None;
    for i in 0..n {
        let ticket = Id::default();
        let derived = keys.derive(&ticket, Kind::Session);
        let inner = Record {
            id: derived.storage_id,
            data: std::collections::HashMap::from([(
                "s".to_owned(),
                serde_json::Value::String(derived.seal(&plain)),
            )]),
            expiry_date: record.expiry_date,
        };
        let key = inner.id.to_string();
        sample.get_or_insert_with(|| key.clone());
        let value = rmp_serde::to_vec(&inner)?;
        resp_command(
            &mut batch,
            &[b"SET", key.as_bytes(), &value, b"EXAT", exat.as_bytes()],
        );
        writeln!(file, "{ticket}")?;
        if batch.len() > 256 * 1024 || i + 1 == n {
            write.write_all(&batch).await?;
            batch.clear();
        }
    }
    file.flush()?;
    reader_task.await??;
    // One record's Redis key, for `MEMORY USAGE` (the cookie values are in `out`).
    println!("{}", sample.unwrap_or_default());
    Ok(())
}

async fn storm(url: &str, cookie: &str, n: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .build()?;
    // Open the connections first, so the storm measures the BFF, not TCP set-up.
    let warm = futures_util::future::join_all(
        (0..n).map(|_| client.get(url.replace("/api/echo", "/healthz")).send()),
    )
    .await;
    for w in warm {
        w?;
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let client = client.clone();
            let barrier = barrier.clone();
            let url = url.to_owned();
            let cookie = cookie.to_owned();
            tokio::spawn(async move {
                barrier.wait().await;
                let t = Instant::now();
                let status = match client.get(url).header(COOKIE, cookie).send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                (status, t.elapsed())
            })
        })
        .collect();
    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut slowest = std::time::Duration::ZERO;
    for task in tasks {
        let (status, took) = task.await?;
        *statuses.entry(status).or_default() += 1;
        slowest = slowest.max(took);
    }
    let wall = start.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "requests": n,
            "wall_ms": wall.as_secs_f64() * 1000.0,
            "slowest_ms": slowest.as_secs_f64() * 1000.0,
            "ok": statuses.get(&200).copied().unwrap_or(0),
            "statuses": statuses,
        })
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Codes {
            provider,
            username,
            password,
            client_id,
            client_secret,
            redirect_uri,
            n,
            exchange,
            concurrency,
        } => {
            let client = client()?;
            provider_login(&client, &provider, &username, &password).await?;
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let tasks: Vec<_> = (0..concurrency.max(1))
                .map(|_| {
                    let (client, provider, client_id, client_secret, redirect_uri, next) = (
                        client.clone(),
                        provider.clone(),
                        client_id.clone(),
                        client_secret.clone(),
                        redirect_uri.clone(),
                        next.clone(),
                    );
                    tokio::spawn(async move {
                        let mut out = Vec::new();
                        while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                            out.push(
                                mint_one(
                                    &client,
                                    &provider,
                                    &client_id,
                                    client_secret.as_deref(),
                                    &redirect_uri,
                                    exchange,
                                )
                                .await?,
                            );
                        }
                        anyhow::Ok(out)
                    })
                })
                .collect();
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            for task in tasks {
                for line in task.await?? {
                    writeln!(lock, "{line}")?;
                }
            }
            lock.flush()?;
        }
        Command::BffLogin {
            provider,
            bff,
            username,
            password,
        } => {
            println!(
                "{}",
                bff_login(&provider, &bff, &username, &password).await?
            );
        }
        Command::CloneSessions {
            redis,
            template,
            n,
            out,
        } => clone_sessions(&redis, &template, n, &out).await?,
        Command::Storm { url, cookie, n } => storm(&url, &cookie, n).await?,
    }
    Ok(())
}
