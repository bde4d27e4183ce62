//! `switchboard-bench-cache`: the desk's cache at contact-centre scale. Starts a release hub
//! seeded with `--customers` demo customers (kept in `--hub-data` between runs, since seeding a
//! million takes minutes), syncs a fresh cache from zero through the real sync engine, then
//! times screen-pop lookups by phone number and type-ahead searches. Prints one JSON report.
//!
//! Screen pops are timed twice: straight after the sync, and after the desk read its
//! screen-pop index into memory (`Store::warm_screen_pops`, which the desk runs when it starts).
//!
//! Peak memory is this process's high-water mark (`VmHWM`): the desk side of the sync, not
//! the hub's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use switchboard_client::HubClient;
use switchboard_model::IdentityKind;
use switchboard_store::Store;
use switchboard_store::feed::Origin;
use switchboard_sync::{SyncConfig, SyncEngine, SystemClock};

#[derive(Debug, Parser)]
struct Options {
    /// The hub program to start; use a release build.
    #[arg(long)]
    hub_binary: PathBuf,
    /// Where the hub keeps its seeded database; reused when it already holds the customers.
    #[arg(long)]
    hub_data: PathBuf,
    /// Demo customers to seed.
    #[arg(long, default_value_t = 1_000_000)]
    customers: usize,
    /// Screen-pop lookups and type-ahead searches to time.
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    std::fs::create_dir_all(&options.hub_data)?;

    let seeding = Instant::now();
    let mut hub = switchboard_tests::hub::Hub::start(
        &options.hub_binary,
        &options.hub_data,
        options.customers,
    )
    .context("starting the hub")?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let token = hub.sign_in_as_demo_agent().await?;

    let cache = tempfile::tempdir()?;
    let cache_path = cache.path().join("cache.db");
    let store = Arc::new(Store::open(&cache_path, None)?);
    store.bind(&Origin {
        hub: hub.url.clone(),
        tenant: "ten_1".to_owned(),
    })?;
    let client = HubClient::new(&hub.url, Duration::from_secs(60))?;
    client.set_token(Some(token));
    let engine = SyncEngine::new(
        Arc::clone(&store),
        client,
        SyncConfig::default(),
        Arc::new(SystemClock),
    );

    let memory_before = high_water_kib()?;
    let syncing = Instant::now();
    let pulled = engine.pull().await?;
    let sync_seconds = syncing.elapsed().as_secs_f64();
    let memory_peak = high_water_kib()?;
    let counts = store.counts()?;
    let _ = hub.stop();

    // The numbers and names to look up, drawn at random from what the cache holds.
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let sample = rusqlite::Connection::open(&cache_path)?;
    let mut phones: Vec<String> = sample
        .prepare("SELECT value FROM identities WHERE kind = 'phone' ORDER BY random() LIMIT ?1")?
        .query_map([options.samples as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    phones.shuffle(&mut rng);
    let names: Vec<String> = sample
        .prepare(
            "SELECT json_extract(body, '$.record.display_name') FROM records
             WHERE kind = 'customer' ORDER BY random() LIMIT ?1",
        )?
        .query_map([(options.samples / 4) as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    drop(sample);
    if phones.is_empty() || names.is_empty() {
        bail!("the cache holds no phone numbers or names to look up");
    }

    // Screen pops straight after the sync, with whatever of the cache the system kept in
    // memory; then after the desk read its screen-pop index in, as it does when it starts.
    let mut cold = Vec::new();
    for phone in phones.iter().take(phones.len() / 10) {
        let started = Instant::now();
        let lookup = store.lookup(IdentityKind::Phone, phone)?;
        cold.push(started.elapsed());
        if lookup.candidates.is_empty() {
            bail!("a looked-up number found no customer: the index is incomplete");
        }
    }
    let warming = Instant::now();
    let warmed = store.warm_screen_pops()?;
    let warm_seconds = warming.elapsed().as_secs_f64();

    let mut lookups = Vec::with_capacity(phones.len());
    let mut candidates = 0usize;
    for phone in &phones {
        let started = Instant::now();
        let lookup = store.lookup(IdentityKind::Phone, phone)?;
        lookups.push(started.elapsed());
        candidates += lookup.candidates.len();
    }
    if candidates < phones.len() {
        bail!("a looked-up number found no customer: the index is incomplete");
    }

    // Type-ahead as an agent types it: every prefix of one or two words of a name, each a
    // search of its own, as the window would send them.
    let mut searches = Vec::new();
    let mut hits = 0usize;
    for name in &names {
        let typed: String = name.chars().take(rng.random_range(4..12)).collect();
        for end in 1..=typed.chars().count() {
            let prefix: String = typed.chars().take(end).collect();
            let started = Instant::now();
            let found = store.search(&prefix, 20)?;
            searches.push(started.elapsed());
            hits += usize::from(!found.is_empty());
        }
    }

    let report = json!({
        "customers": counts.get("customer").copied().unwrap_or(0),
        "orders": counts.get("order").copied().unwrap_or(0),
        "records": counts.values().sum::<u64>(),
        "hub_start_and_seed_seconds": seed_seconds,
        "initial_sync": {
            "changes": pulled.changes,
            "pages": pulled.pages,
            "seconds": sync_seconds,
            "records_per_second": pulled.changes as f64 / sync_seconds.max(0.001),
            "peak_memory_mib": memory_peak as f64 / 1024.0,
            "memory_before_mib": memory_before as f64 / 1024.0,
        },
        "cache_file_mib": std::fs::metadata(&cache_path)?.len() as f64 / 1_048_576.0,
        "identity_lookup_ms": percentiles(&mut lookups),
        "identity_lookup_before_warm_up_ms": percentiles(&mut cold),
        "warm_up": {"identities": warmed, "seconds": warm_seconds},
        "type_ahead_ms": percentiles(&mut searches),
        "type_ahead_searches": searches.len(),
        "type_ahead_with_hits": hits,
    });
    let line = serde_json::to_string(&report)?;
    std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes())?;
    Ok(())
}

fn percentiles(samples: &mut [Duration]) -> serde_json::Value {
    samples.sort();
    let at = |fraction: f64| {
        let index = ((samples.len() as f64 * fraction) as usize).min(samples.len() - 1);
        samples[index].as_secs_f64() * 1000.0
    };
    json!({ "p50": at(0.50), "p99": at(0.99), "max": at(1.0), "count": samples.len() })
}

/// This process's peak resident memory so far, in KiB.
fn high_water_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc/self/status")
}
