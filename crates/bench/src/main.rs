//! `switchboard-bench`: holds many agents' live event streams open on a hub while agents write
//! notes at a fixed rate, and reports write latency and event delivery as one JSON line.
//!
//! Writes are open-loop: each is due at its own moment whatever happened to the ones before,
//! and its latency counts from that moment, so a hub that stalls shows the stall in the
//! figures instead of slowing the load down (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

/// Load a hub and report what it held: one already running (`--hub`), or one this command
/// starts from `--hub-binary` on a fresh database of the kind `--database` names (a private
/// PostgreSQL server on loopback for `postgres`) and stops afterwards.
#[derive(Debug, Parser)]
struct Options {
    /// The base URL of a hub that already runs.
    #[arg(long, conflicts_with = "hub_binary")]
    hub: Option<String>,
    /// The hub program to start; use a release build.
    #[arg(long, required_unless_present = "hub")]
    hub_binary: Option<std::path::PathBuf>,
    /// Demo customers the started hub is seeded with.
    #[arg(long, default_value_t = 2000)]
    customers: usize,
    #[arg(long, default_value = "maya@demo.example.com")]
    login: String,
    #[arg(long, default_value = "switchboard-demo")]
    password: String,
    /// Live event streams to hold open.
    #[arg(long, default_value_t = 2000)]
    streams: usize,
    /// Writes per second.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// How long to write for, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// The database of the hub this command starts, `sqlite` or `postgres`; only a label when
    /// `--hub` is given.
    #[arg(long, default_value = "sqlite")]
    database: String,
}

/// A hub this command started, with what it stands on; dropping it stops them.
struct StartedHub {
    child: std::process::Child,
    url: String,
    _data: tempfile::TempDir,
    _postgres: Option<switchboard_tests::postgres::Postgres>,
}

impl Drop for StartedHub {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start_hub(options: &Options, program: &std::path::Path) -> anyhow::Result<StartedHub> {
    use std::io::BufRead;

    let data = tempfile::tempdir()?;
    let postgres = match options.database.as_str() {
        "sqlite" => None,
        "postgres" => Some(switchboard_tests::postgres::Postgres::start()?),
        other => bail!("--database must be sqlite or postgres, not {other:?}"),
    };
    let mut command = std::process::Command::new(program);
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--demo",
        "--no-simulation",
        "--customers",
        &options.customers.to_string(),
        "--max-in-flight",
        "4096",
    ]);
    match &postgres {
        Some(server) => command
            .arg("--database-url")
            .arg(server.create_database("bench")?),
        None => command.arg("--data").arg(data.path()),
    };
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        std::io::BufReader::new(stdout).read_line(&mut line)?;
    }
    let url = line
        .trim()
        .strip_prefix("switchboard-hub serving on ")
        .map(str::to_owned);
    let Some(url) = url else {
        let _ = child.kill();
        bail!("the hub did not start; it printed {line:?}");
    };
    Ok(StartedHub {
        child,
        url,
        _data: data,
        _postgres: postgres,
    })
}

#[derive(Debug, Default)]
struct Counts {
    created: AtomicU64,
    refused_busy: AtomicU64,
    failed: AtomicU64,
    events: AtomicU64,
    streams_open: AtomicU64,
    streams_failed: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let started_hub = match (&options.hub, &options.hub_binary) {
        (Some(_), _) => None,
        (None, Some(program)) => Some(start_hub(&options, program)?),
        (None, None) => bail!("give --hub URL or --hub-binary PATH"),
    };
    let hub = match (&options.hub, &started_hub) {
        (Some(url), _) => url.clone(),
        (None, Some(started)) => started.url.clone(),
        (None, None) => bail!("no hub to load"),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;

    let login: Value = http
        .post(format!("{}/v1/auth/login", hub))
        .json(&json!({"login": options.login, "password": options.password}))
        .send()
        .await?
        .error_for_status()
        .context("the bench login is refused")?
        .json()
        .await?;
    let token = login["token"].as_str().context("a token")?.to_owned();
    let customers: Value = http
        .get(format!("{}/v1/customers?limit=500", hub))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let customers: Vec<String> = customers["items"]
        .as_array()
        .context("customers")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    if customers.is_empty() {
        bail!("the hub has no customers to write notes about; start it with --demo");
    }

    let counts = Arc::new(Counts::default());
    let opening = Instant::now();
    let stream_client = reqwest::Client::builder().build()?;
    for _ in 0..options.streams {
        let client = stream_client.clone();
        let url = format!("{}/v1/events", hub);
        let token = token.clone();
        let counts = Arc::clone(&counts);
        tokio::spawn(async move {
            let response = client.get(url).bearer_auth(token).send().await;
            let mut response = match response {
                Ok(response) if response.status().is_success() => response,
                _ => {
                    counts.streams_failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            counts.streams_open.fetch_add(1, Ordering::Relaxed);
            // Counting event separators is enough; parsing every event would load the bench
            // more than the hub.
            while let Ok(Some(chunk)) = response.chunk().await {
                let events = chunk.windows(13).filter(|w| w == b"event: change").count();
                counts.events.fetch_add(events as u64, Ordering::Relaxed);
            }
        });
    }
    while counts.streams_open.load(Ordering::Relaxed)
        + counts.streams_failed.load(Ordering::Relaxed)
        < options.streams as u64
    {
        if opening.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let open_seconds = opening.elapsed().as_secs_f64();
    let streams_open = counts.streams_open.load(Ordering::Relaxed);

    let (latencies_tx, mut latencies_rx) = tokio::sync::mpsc::unbounded_channel::<Duration>();
    let total = u64::from(options.rate) * options.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(options.rate.max(1)));
    let started = Instant::now();
    for n in 0..total {
        let due = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let http = http.clone();
        let url = format!("{}/v1/notes", hub);
        let token = token.clone();
        let customer = customers[n as usize % customers.len()].clone();
        let counts = Arc::clone(&counts);
        let latencies = latencies_tx.clone();
        tokio::spawn(async move {
            let result = http
                .post(url)
                .bearer_auth(token)
                .header(
                    "idempotency-key",
                    format!("bench-{n}-{}", std::process::id()),
                )
                .json(&json!({"customer_id": customer, "body": format!("Bench note {n}")}))
                .send()
                .await;
            let _ = latencies.send(due.elapsed());
            match result.map(|response| response.status().as_u16()) {
                Ok(201) => counts.created.fetch_add(1, Ordering::Relaxed),
                Ok(429) => counts.refused_busy.fetch_add(1, Ordering::Relaxed),
                _ => counts.failed.fetch_add(1, Ordering::Relaxed),
            };
        });
    }
    drop(latencies_tx);
    let mut latencies = Vec::with_capacity(total as usize);
    while let Some(latency) = latencies_rx.recv().await {
        latencies.push(latency);
    }
    let write_seconds = started.elapsed().as_secs_f64();

    // Give the streams time to deliver the last writes, then count.
    let created = counts.created.load(Ordering::Relaxed);
    let expected_events = created * streams_open;
    let draining = Instant::now();
    while counts.events.load(Ordering::Relaxed) < expected_events
        && draining.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    latencies.sort();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index].as_secs_f64() * 1000.0
    };
    let report = json!({
        "database": options.database,
        "streams_requested": options.streams,
        "streams_open": streams_open,
        "streams_failed": counts.streams_failed.load(Ordering::Relaxed),
        "streams_open_seconds": round(open_seconds),
        "writes_requested": total,
        "writes_per_second_target": options.rate,
        "writes_created": created,
        "writes_refused_429": counts.refused_busy.load(Ordering::Relaxed),
        "writes_failed": counts.failed.load(Ordering::Relaxed),
        "writes_per_second_achieved": round(created as f64 / write_seconds),
        "latency_ms_p50": round(percentile(0.50)),
        "latency_ms_p90": round(percentile(0.90)),
        "latency_ms_p99": round(percentile(0.99)),
        "latency_ms_max": round(percentile(1.0)),
        "events_expected": expected_events,
        "events_delivered": counts.events.load(Ordering::Relaxed),
        "drain_seconds": round(draining.elapsed().as_secs_f64()),
    });
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{report}")?;
    drop(started_hub);
    Ok(())
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
