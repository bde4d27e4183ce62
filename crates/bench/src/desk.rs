//! `switchboard-bench-desk`: the agent window's own figures, taken in the real app (under Xvfb
//! and tauri-driver) with a cache of `--customers` customers. Prints one JSON report.
//!
//! - Screen pop: a bare SIP client here sends an INVITE from a cached customer's number, and
//!   the window's DOM is watched (a `MutationObserver` in the page) for that customer's name in
//!   the calls bar. Both ends read the same system clock, the page's `Date.now()` in whole
//!   milliseconds. Each call is then cancelled. Beside it, the same question asked of the hub
//!   over REST on loopback (`GET /v1/customers/by-identity`), timed by this process.
//! - Cold start: from asking tauri-driver for a session, which launches the app, to the
//!   sign-in form accepting input; and from the app process's own start (read from /proc, in
//!   10 ms ticks) to the same moment.
//! - Memory: the proportional set size of the app and its WebKit processes with
//!   `--interactions` chats open, beside headless Chromium showing the same built UI. Chromium
//!   has no Rust behind it, so its calls into Rust are forwarded through WebDriver to the
//!   running app and answered there: both show the same data.
//!
//! The hub is a release hub seeded with `--hub-customers` demo customers; the window signs in
//! to it, syncs, closes, and the cache then receives `--customers` more customers straight
//! through the store (as the feed would bring them), so that the million need not be seeded
//! into a hub first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fantoccini::{Client, Locator};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use switchboard_model::{Change, Cursor, Customer, CustomerId, Identity, IdentityKind, Record};
use switchboard_store::Store;
use switchboard_tests::browser::Chromium;
use switchboard_tests::display::VirtualDisplay;
use switchboard_tests::driver::{
    Driver, ProcessMemory, descendants, find_descendant, process_memory,
};
use switchboard_tests::hub::{Hub, log_in};
use switchboard_tests::page::{
    APPEAR, click, feed_records, set_agent_state, text, until_attribute,
};
use switchboard_tests::wait;
use tokio::net::UdpSocket;

mod sip;

#[derive(Debug, clap::Parser)]
struct Options {
    /// The desktop app to launch; use a release build.
    #[arg(long)]
    app: PathBuf,
    /// The hub program to start; use a release build.
    #[arg(long)]
    hub_binary: PathBuf,
    /// The built UI (`ui/dist`), which Chromium is shown for the memory comparison.
    #[arg(long)]
    ui_dist: PathBuf,
    /// Customers added to the desk's cache.
    #[arg(long, default_value_t = 1_000_000)]
    customers: usize,
    /// Demo customers the hub is seeded with (and the REST lookups search).
    #[arg(long, default_value_t = 5_000)]
    hub_customers: usize,
    /// Screen pops timed, and REST lookups beside them.
    #[arg(long, default_value_t = 200)]
    pops: usize,
    /// Cold starts timed.
    #[arg(long, default_value_t = 5)]
    starts: usize,
    /// Chats open in the window while its memory is measured.
    #[arg(long, default_value_t = 20)]
    interactions: usize,
    /// Where the driver's and the app's logs go.
    #[arg(long)]
    logs: PathBuf,
}

/// The agent the bench signs in as: a chat capacity high enough to hold every interaction.
const LOGIN: &str = "bench.agent@demo.example.com";
const PASSWORD: &str = "bench-agent-password";

/// Waits for a name to appear in the calls bar and notes when, in the page's clock. It looks
/// only at what changed, so that a name already shown by an earlier call does not count.
const POP_OBSERVER: &str = r#"
window.__pop = null;
new MutationObserver((mutations) => {
  const pop = window.__pop;
  if (!pop || pop.seen !== null) return;
  for (const mutation of mutations) {
    for (const node of mutation.addedNodes) {
      const root = node.nodeType === 1 ? node : node.parentElement;
      if (!root) continue;
      const found = root.matches("[data-testid=call-customer]")
        ? [root]
        : root.querySelectorAll("[data-testid=call-customer]");
      for (const element of found) {
        if (element.textContent.trim() === pop.name) {
          pop.seen = Date.now();
          return;
        }
      }
    }
  }
}).observe(document.body, { childList: true, subtree: true });
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options: Options = clap::Parser::parse();
    std::fs::create_dir_all(&options.logs)?;

    let hub_data = tempfile::tempdir()?;
    let mut hub = Hub::start(&options.hub_binary, hub_data.path(), options.hub_customers)
        .context("starting the hub")?;
    let agent_token = create_bench_agent(&hub, options.interactions).await?;

    let display = VirtualDisplay::start()?;
    let driver = Driver::start(&display.name(), &hub.url, &options.logs.join("driver.log"))?;
    let sip_address: SocketAddr = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    driver.write_settings(&format!("[phone]\nlisten = \"{sip_address}\"\n"))?;

    // The first start fills the cache from the hub, as a new desk would.
    progress("first start: signing in and syncing from the hub");
    let window = driver.session(&options.app).await?;
    sign_in(&window).await?;
    close(&driver, window).await?;

    let cache_path = driver
        .home
        .path()
        .join("data")
        .join("switchboard")
        .join("cache.db");
    progress(&format!(
        "adding {} customers to the cache",
        options.customers
    ));
    let filling = Instant::now();
    let callers = tokio::task::spawn_blocking({
        let path = cache_path.clone();
        let customers = options.customers;
        let pops = options.pops;
        move || fill_cache(&path, customers, pops)
    })
    .await??;
    let fill_seconds = filling.elapsed().as_secs_f64();

    progress("cold starts");
    let cold_starts = cold_starts(&driver, &options.app, options.starts).await?;

    // The measured start: sign in over the full cache, then take calls.
    let window = driver.session(&options.app).await?;
    let signing_in = Instant::now();
    sign_in(&window).await?;
    let sign_in_to_synced = signing_in.elapsed().as_secs_f64() * 1_000.0;
    progress("screen pops");
    window.execute(POP_OBSERVER, vec![]).await?;
    let pops = screen_pops(&window, sip_address, &callers).await?;
    let rest = rest_lookups(&hub, &agent_token, options.pops).await?;

    progress("opening chats");
    let open = open_chats(&window, &hub, &agent_token, options.interactions).await?;
    let app = find_descendant(driver.group(), "switchboard")
        .context("the app's process among the driver's")?;
    let app_memory = memory_of(app);

    progress("the same UI in Chromium");
    let chromium = chromium_memory(&window, &options, open).await?;
    let _ = window.close().await;
    let _ = hub.stop();

    let report = json!({
        "customers_cached": callers.cached,
        "cache_fill_seconds": fill_seconds,
        "cache_file_mib": std::fs::metadata(&cache_path)?.len() as f64 / 1_048_576.0,
        "hub_customers": options.hub_customers,
        "invite_to_name_in_dom_ms": pops,
        "rest_lookup_on_loopback_ms": rest,
        "cold_start": cold_starts,
        "sign_in_to_synced_ms": sign_in_to_synced,
        "memory_with_open_chats": {
            "chats": open,
            "app": app_memory,
            "headless_chromium": chromium,
        },
    });
    let line = serde_json::to_string(&report)?;
    std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes())?;
    Ok(())
}

/// Says what the bench is doing, on standard error; the report alone goes to standard output.
fn progress(step: &str) {
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("bench desk: {step}\n").as_bytes(),
    );
}

/// Ends a WebDriver session and waits until the app has exited, so that the next launch is a
/// first instance rather than one that hands over to the closing one and quits.
async fn close(driver: &Driver, window: Client) -> anyhow::Result<()> {
    let _ = window.close().await;
    wait::until_async("the app to exit", APPEAR, || async {
        find_descendant(driver.group(), "switchboard")
            .is_none()
            .then_some(())
    })
    .await
}

/// Creates, as the demo admin, the agent the bench signs in as, on every queue and able to
/// hold `chats` chats at once; returns that agent's own token.
async fn create_bench_agent(hub: &Hub, chats: usize) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let admin = log_in(&hub.url, "sam@demo.example.com", "switchboard-demo").await?;
    let queues: Value = http
        .get(format!("{}/v1/queues", hub.url))
        .bearer_auth(&admin)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let queue_ids: Vec<Value> = queues
        .as_array()
        .context("the hub's queues")?
        .iter()
        .map(|queue| queue["id"].clone())
        .collect();
    http.post(format!("{}/v1/agents", hub.url))
        .bearer_auth(&admin)
        .json(&json!({
            "display_name": "Bench Agent",
            "login": LOGIN,
            "password": PASSWORD,
            "role": "agent",
            "capacity": {"calls": 1, "chats": chats.max(1)},
            "queues": queue_ids,
        }))
        .send()
        .await?
        .error_for_status()
        .context("creating the bench's agent")?;
    log_in(&hub.url, LOGIN, PASSWORD).await
}

/// Signs the window in as the bench's agent and waits until its cache is synced.
async fn sign_in(window: &Client) -> anyhow::Result<()> {
    let submit = sign_in_ready(window).await?;
    let login = window
        .find(Locator::Css("[data-testid=sign-in-login]"))
        .await?;
    login.clear().await?;
    login.send_keys(LOGIN).await?;
    // A demo hub's login fills both fields; replace both.
    let password = window
        .find(Locator::Css("[data-testid=sign-in-password]"))
        .await?;
    password.clear().await?;
    password.send_keys(PASSWORD).await?;
    submit.click().await.context("pressing Sign in")?;
    let synced = until_attribute(window, "[data-testid=sync-status]", "data-state", "synced").await;
    if synced.is_err()
        && let Some(refusal) = text(window, "[data-testid=sign-in-error]").await
    {
        bail!("the window did not sign in: {refusal}");
    }
    synced
}

/// The sign-in button once the form accepts input: the hub answered and the button is enabled.
async fn sign_in_ready(window: &Client) -> anyhow::Result<fantoccini::elements::Element> {
    wait::until_async("an enabled sign-in button", APPEAR, || async {
        let button = window
            .find(Locator::Css("[data-testid=sign-in-submit]"))
            .await
            .ok()?;
        button.is_enabled().await.ok()?.then_some(button)
    })
    .await
}

/// The customers put into the cache, and the ones chosen to call.
#[derive(Debug)]
struct Callers {
    cached: usize,
    /// (number as the caller's phone sends it, name the pop must show), names all different.
    chosen: Vec<(String, String)>,
}

const FIRST: &[&str] = &[
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Freya", "Arthur", "Grace",
    "Oscar", "Lily", "Harry", "Emily", "Jack", "Sofia", "Charlie", "Ella", "Thomas", "Chloe",
    "Jacob", "Ruby", "Alfie", "Zara", "Samir", "Anya", "Kwame", "Ines", "Mateo",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Lewis", "Harris", "Clarke", "Jackson", "Wood", "Turner", "Okafor", "Novak", "Moreau",
    "Silva", "Nakamura",
];

/// Adds `customers` customers to the cache at `path` as feed pages would, without moving its
/// cursor (the hub's feed goes on from where the desk left it), and picks `pops` of them with
/// distinct names to call from.
fn fill_cache(path: &Path, customers: usize, pops: usize) -> anyhow::Result<Callers> {
    let store = Store::open(path, None)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let at = Cursor("0".to_owned());
    let page_size = 2_000;
    let mut chosen = Vec::new();
    let mut names = std::collections::HashSet::new();
    let every = (customers / pops.max(1)).max(1);

    for start in (0..customers).step_by(page_size) {
        let changes: Vec<Change> = (start..(start + page_size).min(customers))
            .map(|index| {
                let first = FIRST.choose(&mut rng).copied().unwrap_or("Alex");
                let last = LAST.choose(&mut rng).copied().unwrap_or("Doe");
                let initial = char::from(b'A' + rng.random_range(0..26u8));
                let name = format!("{first} {initial}. {last}");
                // UK mobile numbers, 07400 000000 onwards, one per customer.
                let number = format!("+44740{index:07}");
                if index % every == 0 && chosen.len() < pops && names.insert(name.clone()) {
                    chosen.push((number.clone(), name.clone()));
                }
                Change::Upsert {
                    cursor: at.clone(),
                    version: 1,
                    record: Box::new(Record::Customer(bench_customer(index, name, number))),
                }
            })
            .collect();
        store.apply_page(&changes, &at)?;
    }

    // The numbers must find their customers, or every pop below would time out.
    for (number, name) in chosen.iter().take(3) {
        let found = store.lookup(IdentityKind::Phone, number)?;
        if !found
            .candidates
            .iter()
            .any(|candidate| &candidate.display_name == name)
        {
            bail!("the cache does not find {number} after the fill; the numbers are not valid");
        }
    }
    Ok(Callers {
        cached: customers,
        chosen,
    })
}

fn bench_customer(index: usize, name: String, number: String) -> Customer {
    Customer {
        id: CustomerId::from_number(1_000_000_000 + index as u64),
        display_name: name,
        company: None,
        language: "en-GB".to_owned(),
        city: Some("Leeds".to_owned()),
        country: Some("GB".to_owned()),
        tier: "standard".to_owned(),
        created_at: "2025-01-01T09:00:00Z".to_owned(),
        updated_at: "2025-01-01T09:00:00Z".to_owned(),
        identities: vec![
            Identity {
                kind: IdentityKind::Phone,
                value: number,
                label: Some("mobile".to_owned()),
                primary: true,
            },
            Identity {
                kind: IdentityKind::Email,
                value: format!("customer{index}@example.net"),
                label: None,
                primary: true,
            },
        ],
    }
}

/// Starts the app `starts` times over the full cache and times each to a usable sign-in form.
async fn cold_starts(driver: &Driver, app: &Path, starts: usize) -> anyhow::Result<Value> {
    let mut from_request = Vec::new();
    let mut from_process = Vec::new();
    for _ in 0..starts {
        let asked = Instant::now();
        let window = driver.session(app).await?;
        sign_in_ready(&window).await?;
        let ready_at = epoch_ms();
        from_request.push(asked.elapsed().as_secs_f64() * 1_000.0);
        if let Some(started_at) =
            find_descendant(driver.group(), "switchboard").and_then(process_started_at_ms)
        {
            from_process.push(ready_at - started_at);
        }
        close(driver, window).await?;
    }
    Ok(json!({
        "starts": starts,
        "session_request_to_sign_in_form_ms": percentiles(&mut from_request),
        "process_start_to_sign_in_form_ms": percentiles(&mut from_process),
    }))
}

/// When process `pid` started, in ms since the epoch (to the kernel's 10 ms tick).
fn process_started_at_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    // Field 22 of stat, the 20th after the command name: start time in ticks after boot.
    let ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // Linux reports these ticks at USER_HZ, 100 a second on every architecture it supports.
    let age_ms = (uptime - ticks / 100.0) * 1_000.0;
    Some(epoch_ms() - age_ms)
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64() * 1_000.0)
}

/// Calls the desk from each chosen number and times INVITE to the name in the DOM.
async fn screen_pops(
    window: &Client,
    desk: SocketAddr,
    callers: &Callers,
) -> anyhow::Result<Value> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let ours = socket.local_addr()?;
    let mut times = Vec::with_capacity(callers.chosen.len());
    let mut buffer = vec![0u8; 8192];

    for (call, (number, name)) in callers.chosen.iter().enumerate() {
        window
            .execute(
                "window.__pop = { name: arguments[0], seen: null };",
                vec![json!(name)],
            )
            .await?;
        let dialog = sip::Dialog {
            call_id: format!("pop-{call}@127.0.0.1"),
            call,
            caller: number.clone(),
            ours,
            theirs: desk,
        };
        let to = dialog.to();
        let invite = dialog.request("INVITE", 1, "INVITE", &to, Some(sip::OFFER));
        let sent_at = epoch_ms();
        socket.send_to(invite.as_bytes(), desk).await?;

        // The page notes the moment itself, so how often this asks does not change the figure.
        let seen: f64 = wait::until_async("the caller's name in the window", APPEAR, || async {
            window
                .execute("return window.__pop && window.__pop.seen;", vec![])
                .await
                .ok()?
                .as_f64()
        })
        .await?;
        times.push(seen - sent_at);

        // Cancel the call and see it out, so that the desk is idle for the next one.
        let cancel = dialog.request("CANCEL", 1, "INVITE", &to, None);
        socket.send_to(cancel.as_bytes(), desk).await?;
        let refused_to = loop {
            let (length, _) =
                tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
                    .await
                    .context("the desk did not end a cancelled INVITE within 5 s")??;
            let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
            if sip::status(&text) == Some(487) {
                break sip::header(&text, "To").context("a 487 without a To header")?;
            }
        };
        let ack = dialog.request("ACK", 1, "INVITE", &refused_to, None);
        socket.send_to(ack.as_bytes(), desk).await?;

        // An ended call stays in the calls bar for a while; pace the calls so that a handful
        // at most are there, as on a busy desk, rather than hundreds.
        wait::until_async("the calls bar to thin out", APPEAR, || async {
            let shown = window
                .find_all(Locator::Css("[data-testid=call]"))
                .await
                .ok()?;
            (shown.len() < BUSY_CALLS_BAR).then_some(())
        })
        .await?;
    }
    Ok(percentiles(&mut times))
}

/// The most calls the pop bench lets stand in the calls bar, ended ones included.
const BUSY_CALLS_BAR: usize = 8;

/// Times the hub's answer to "who has this number" for numbers its customers have.
async fn rest_lookups(hub: &Hub, token: &str, count: usize) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let numbers: Vec<String> = feed_records(&hub.url, token, "customer")
        .await?
        .iter()
        .filter_map(|customer| {
            customer["identities"]
                .as_array()?
                .iter()
                .find(|identity| identity["kind"] == "phone")?["value"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    if numbers.is_empty() {
        bail!("the hub's feed holds no customer with a phone number");
    }

    let mut times = Vec::with_capacity(count);
    for number in numbers.iter().cycle().take(count) {
        let started = Instant::now();
        let found: Value = http
            .get(format!("{}/v1/customers/by-identity", hub.url))
            .query(&[("kind", "phone"), ("value", number.as_str())])
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
        if found.as_array().is_some_and(Vec::is_empty) {
            bail!("the hub found no customer for {number}, a number from its own feed");
        }
    }
    Ok(percentiles(&mut times))
}

/// Opens `count` chats with the window's agent: customers start them on the hub's chat API,
/// the agent accepts each offer, and each customer writes twice more. Returns the chats the
/// window shows.
async fn open_chats(
    window: &Client,
    hub: &Hub,
    agent_token: &str,
    count: usize,
) -> anyhow::Result<usize> {
    set_agent_state(window, "available").await?;

    let http = reqwest::Client::new();
    let mut customers = Vec::new();
    for index in 0..count {
        let started: Value = http
            .post(format!("{}/v1/chat/sessions", hub.url))
            .json(&json!({
                "name": format!("Chat Customer {index}"),
                "contact": format!("chat{index}@example.org"),
                "message": "Hello, my parcel has not arrived and the tracking has not moved.",
            }))
            .send()
            .await?
            .error_for_status()
            .context("starting a chat")?
            .json()
            .await?;
        customers.push(
            started["token"]
                .as_str()
                .context("a chat session's token")?
                .to_owned(),
        );
    }

    // Offers come as routing makes them; accept each until every chat is the agent's.
    let mut accepted = std::collections::HashSet::new();
    while accepted.len() < count {
        let fresh: Vec<String> = wait::until_async("the next chats offered", APPEAR, || async {
            let offers: Vec<Value> = http
                .get(format!("{}/v1/offers", hub.url))
                .bearer_auth(agent_token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let fresh: Vec<String> = offers
                .iter()
                .filter_map(|offer| offer["id"].as_str())
                .filter(|id| !accepted.contains(*id))
                .map(str::to_owned)
                .collect();
            (!fresh.is_empty()).then_some(fresh)
        })
        .await?;
        for id in fresh {
            let answer = http
                .post(format!("{}/v1/offers/{id}/accept", hub.url))
                .bearer_auth(agent_token)
                .send()
                .await?;
            if answer.status().is_success() {
                accepted.insert(id);
            }
        }
    }

    for token in &customers {
        for line in [
            "The order number is on the confirmation e-mail, shall I read it out?",
            "It was meant to come on Tuesday.",
        ] {
            http.post(format!("{}/v1/chat/messages", hub.url))
                .bearer_auth(token)
                .json(&json!({ "body": line }))
                .send()
                .await?
                .error_for_status()
                .context("a customer's chat message")?;
        }
    }

    let shown = wait::until_async("every chat in the window's work list", APPEAR, || async {
        let tabs = window
            .find_all(Locator::Css("[data-testid=chat-tab]"))
            .await
            .ok()?;
        (tabs.len() >= count).then_some(tabs.len())
    })
    .await;
    if shown.is_err()
        && let Ok(png) = window.screenshot().await
    {
        let _ = std::fs::write(std::env::temp_dir().join("bench-desk-chats.png"), png);
    }
    let shown = shown?;
    click(window, "[data-testid=chat-tab]").await?;
    Ok(shown)
}

/// Shows the built UI in headless Chromium with the same data as the window, and measures
/// Chromium's processes once it shows the same chats.
async fn chromium_memory(
    window: &Client,
    options: &Options,
    chats: usize,
) -> anyhow::Result<Value> {
    let served = serve_ui(window.clone(), options.ui_dist.clone()).await?;
    let chromium = Chromium::start(&options.logs.join("chromedriver.log"))?;
    let page = chromium.session().await?;
    page.goto(&format!("http://{served}/")).await?;
    wait::until_async("the chats in Chromium's copy of the UI", APPEAR, || async {
        let tabs = page
            .find_all(Locator::Css("[data-testid=chat-tab]"))
            .await
            .ok()?;
        (tabs.len() >= chats).then_some(())
    })
    .await?;
    click(&page, "[data-testid=chat-tab]").await?;

    // Debian starts the browser through a wrapper script, so its process name varies; it is
    // chromedriver's only child.
    let browser = *descendants(chromium.group())
        .first()
        .context("Chromium's process under chromedriver")?;
    let memory = memory_of(browser);
    let _ = page.close().await;
    Ok(memory)
}

/// Memory of `root` and every process below it: totals, and each process's share split into
/// anonymous memory and mapped files (the cache's memory-mapped pages are file pages).
fn memory_of(root: u32) -> Value {
    let each = process_memory(root);
    let total = |part: fn(&ProcessMemory) -> u64| mib(each.iter().map(part).sum());
    json!({
        "processes": each.len(),
        "pss_mib": total(|process| process.pss_kib),
        "pss_anon_mib": total(|process| process.pss_anon_kib),
        "pss_file_mib": total(|process| process.pss_file_kib),
        "rss_mib": total(|process| process.rss_kib),
        "each": each
            .iter()
            .map(|process| json!({
                "process": process.name,
                "pss_mib": mib(process.pss_kib),
                "pss_anon_mib": mib(process.pss_anon_kib),
                "pss_file_mib": mib(process.pss_file_kib),
            }))
            .collect::<Vec<_>>(),
    })
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

/// Stands in for Tauri's bridge in a plain browser: commands go to `/invoke`, events are
/// accepted and never fire.
const BRIDGE: &str = r#"
(() => {
  let next = 1;
  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    transformCallback() { return next++; },
    unregisterCallback() {},
    convertFileSrc(path) { return path; },
    async invoke(cmd, args) {
      if (cmd.startsWith("plugin:")) return cmd === "plugin:event|listen" ? next++ : null;
      const answer = await fetch("/invoke", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ cmd, args: args ?? {} }),
      }).then((response) => response.json());
      if ("error" in answer) throw answer.error;
      return answer.ok;
    },
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener() {} };
})();
"#;

/// Runs the command in the real window and hands back what the app answered.
const FORWARD: &str = r#"
const [cmd, args, done] = arguments;
window.__TAURI_INTERNALS__.invoke(cmd, args).then(
  (ok) => done({ ok: ok === undefined ? null : ok }),
  (error) => done({ error }),
);
"#;

#[derive(Clone)]
struct Served {
    window: Client,
    dist: Arc<PathBuf>,
}

/// Serves `dist` with the bridge on a free loopback port; returns the address.
async fn serve_ui(window: Client, dist: PathBuf) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/invoke", axum::routing::post(forward))
        .fallback(axum::routing::get(file))
        .with_state(Served {
            window,
            dist: Arc::new(dist),
        });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(address)
}

async fn forward(State(served): State<Served>, Json(call): Json<Value>) -> Json<Value> {
    let answer = served
        .window
        .execute_async(FORWARD, vec![call["cmd"].clone(), call["args"].clone()])
        .await;
    Json(answer.unwrap_or_else(|error| json!({ "error": error.to_string() })))
}

async fn file(State(served): State<Served>, uri: axum::http::Uri) -> Response {
    let relative = uri.path().trim_start_matches('/');
    let relative = if relative.is_empty() {
        "index.html"
    } else {
        relative
    };
    if relative.split('/').any(|part| part == "..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(bytes) = tokio::fs::read(served.dist.join(relative)).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (kind, bytes) = match relative.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => {
            let page = String::from_utf8_lossy(&bytes).replacen(
                "<head>",
                &format!("<head><script>{BRIDGE}</script>"),
                1,
            );
            ("text/html; charset=utf-8", page.into_bytes())
        }
        Some("js") => ("text/javascript", bytes),
        Some("css") => ("text/css", bytes),
        Some("svg") => ("image/svg+xml", bytes),
        Some("png") => ("image/png", bytes),
        Some("woff2") => ("font/woff2", bytes),
        _ => ("application/octet-stream", bytes),
    };
    ([(header::CONTENT_TYPE, kind)], bytes).into_response()
}

fn percentiles(samples: &mut [f64]) -> Value {
    if samples.is_empty() {
        return json!({ "count": 0 });
    }
    samples.sort_by(f64::total_cmp);
    let at = |share: f64| samples[((samples.len() - 1) as f64 * share).round() as usize];
    json!({ "p50": at(0.5), "p99": at(0.99), "max": at(1.0), "count": samples.len() })
}
