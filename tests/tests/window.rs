//! The desktop window end to end: the real app in the real web view (WebKitGTK under Xvfb,
//! driven through tauri-driver), talking to the real hub binary over loopback: sign-in, the
//! customer list and pane, the cache filled from the hub, a call from a customer's number
//! popping that customer from the cache, and the hub going away while the pane still opens
//! customers from the cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fantoccini::{Client, Locator};
use serde_json::Value;
use switchboard_tests::display::VirtualDisplay;
use switchboard_tests::driver::{Driver, app_binary, find_descendant, tree_memory};
use switchboard_tests::hub::Hub;
use switchboard_tests::{artifacts_dir, wait};
use switchboard_voice::audio::FileDevices;
use switchboard_voice::call::{CallEvent, EndReason};
use switchboard_voice::phone::{Account, Phone, PhoneEvent, PhoneSettings};

/// Generous limits: CI machines are shared and a cold WebKit start can take a while. Tests end
/// as soon as the condition holds, so these only bound a failure.
const APPEAR: Duration = Duration::from_secs(60);

async fn hub_json(url: &str, token: &str) -> anyhow::Result<Value> {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    response
        .json()
        .await
        .with_context(|| format!("JSON from {url}"))
}

/// The text of every element matching `css`, or `None` while there are none.
async fn texts(window: &Client, css: &str) -> Option<Vec<String>> {
    let elements = window.find_all(Locator::Css(css)).await.ok()?;
    if elements.is_empty() {
        return None;
    }
    let mut texts = Vec::with_capacity(elements.len());
    for element in elements {
        texts.push(element.text().await.ok()?);
    }
    Some(texts)
}

async fn attribute(window: &Client, css: &str, name: &str) -> Option<String> {
    let element = window.find(Locator::Css(css)).await.ok()?;
    element.attr(name).await.ok().flatten()
}

/// Clicks customer `id` in the list and waits for the pane to show `name`.
async fn open_customer(window: &Client, id: &str, name: &str, what: &str) -> anyhow::Result<()> {
    window
        .find(Locator::Css(&format!("[data-customer-id='{id}']")))
        .await
        .with_context(|| format!("customer {id} is in the list"))?
        .click()
        .await
        .with_context(|| format!("clicking customer {id}"))?;
    wait::until_async(what, APPEAR, || async {
        texts(window, "[data-testid=customer-name]")
            .await
            .filter(|shown| shown.first().map(String::as_str) == Some(name))
    })
    .await?;
    Ok(())
}

async fn screenshot(window: &Client, name: &str) -> anyhow::Result<()> {
    // WebKit captures the last painted frame; wait for two frames so that the picture shows
    // the page as the test just saw it, not as it was a moment ago.
    window
        .execute_async(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
            vec![],
        )
        .await
        .context("waiting for the page to paint")?;
    let png = window.screenshot().await.context("taking a screenshot")?;
    std::fs::write(artifacts_dir("window").join(name), png).context("saving a screenshot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_lists_the_hubs_customers_and_notices_when_the_hub_goes() -> anyhow::Result<()> {
    const SEEDED: usize = 40;
    let mut hub = Hub::start_demo(SEEDED)?;

    // What the hub says is the truth the window must show; the test reads it signed in with
    // the demo login the hub advertises, as the window will.
    let token = hub.sign_in_as_demo_agent().await?;
    let listed = hub_json(&format!("{}/v1/customers?limit=500", hub.url), &token).await?;
    let items = listed["items"]
        .as_array()
        .context("the hub lists customers")?;
    assert_eq!(items.len(), SEEDED, "the hub serves every seeded customer");
    let chosen_id = items[SEEDED / 2]["id"]
        .as_str()
        .context("a customer id")?
        .to_owned();
    let chosen = hub_json(&format!("{}/v1/customers/{chosen_id}", hub.url), &token).await?;
    let chosen_name = chosen["display_name"]
        .as_str()
        .context("a name")?
        .to_owned();
    let chosen_phones: Vec<String> = chosen["identities"]
        .as_array()
        .context("identities")?
        .iter()
        .filter(|identity| identity["kind"] == "phone")
        .filter_map(|identity| identity["value"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !chosen_phones.is_empty(),
        "the chosen customer has a phone number to check"
    );

    let display = VirtualDisplay::start()?;
    let driver = Driver::start(
        &display.name(),
        &hub.url,
        &artifacts_dir("window").join("driver.log"),
    )?;

    // The desk has a phone, called directly on a loopback port.
    let sip = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    driver.write_settings(&format!("[phone]\nlisten = \"{sip}\"\n"))?;

    let launched = Instant::now();
    let window = driver.session(&app_binary()).await?;
    let result = async {
        // The window opens on the sign-in form, with the demo hub's login filled in once the
        // hub has answered; the agent only presses the button.
        let submit = wait::until_async("an enabled sign-in button", APPEAR, || async {
            let button = window
                .find(Locator::Css("[data-testid=sign-in-submit]"))
                .await
                .ok()?;
            let field = window
                .find(Locator::Css("[data-testid=sign-in-login]"))
                .await
                .ok()?;
            let login = field.prop("value").await.ok().flatten().unwrap_or_default();
            let ready = button.is_enabled().await.ok()? && !login.is_empty();
            ready.then_some(button)
        })
        .await?;
        let startup_to_sign_in = launched.elapsed();
        screenshot(&window, "sign-in.png").await?;
        let signing_in = Instant::now();
        submit.click().await.context("pressing Sign in")?;

        // Signed in, the list fills from the hub: every seeded customer, by name.
        let names = wait::until_async("the customer list", APPEAR, || async {
            texts(&window, "[data-testid=customer-item] .name")
                .await
                .filter(|names| names.len() == SEEDED)
        })
        .await?;
        let sign_in_to_list = signing_in.elapsed();
        let agent = texts(&window, "[data-testid=signed-in-agent]")
            .await
            .unwrap_or_default();
        assert!(
            agent.first().is_some_and(|text| text.contains("Maya")),
            "the top bar names the signed-in agent, got {agent:?}"
        );
        let expected: Vec<&str> = items
            .iter()
            .filter_map(|item| item["display_name"].as_str())
            .collect();
        assert_eq!(
            names, expected,
            "the window lists the hub's customers in the hub's order"
        );

        let status = attribute(&window, "[data-testid=hub-status]", "data-state").await;
        assert_eq!(
            status.as_deref(),
            Some("online"),
            "a running hub shows as online"
        );

        // Choosing a customer opens their record with the hub's name and numbers.
        open_customer(&window, &chosen_id, &chosen_name, "the customer pane").await?;

        let mut shown_phones = Vec::new();
        for element in window
            .find_all(Locator::Css("[data-testid=customer-phone]"))
            .await?
        {
            shown_phones.push(element.attr("data-e164").await?.unwrap_or_default());
        }
        assert_eq!(
            shown_phones, chosen_phones,
            "the pane shows the hub's numbers, in order"
        );
        screenshot(&window, "online.png").await?;

        // Signed in, the desk fills its cache from the hub; then a call from the chosen
        // customer's number pops them from the cache while it rings.
        wait::until_async("the cache to be filled and synced", APPEAR, || async {
            attribute(&window, "[data-testid=sync-status]", "data-state")
                .await
                .filter(|state| state == "synced")
        })
        .await?;
        let caller = Phone::start(
            PhoneSettings {
                account: Some(Account {
                    user: chosen_phones[0].clone(),
                    password: String::new(),
                }),
                ..PhoneSettings::direct("127.0.0.1:0".parse()?)
            },
            Arc::new(FileDevices::default()),
        )
        .await?;
        let mut caller_events = caller.events().context("the caller's events")?;
        let dialled = Instant::now();
        caller.dial(&format!("sip:agent@{sip}")).await?;
        let popped = wait::until_async("the ringing call's customer", APPEAR, || async {
            texts(&window, "[data-testid=call-customer]")
                .await
                .filter(|names| names.first() == Some(&chosen_name))
        })
        .await?;
        let dial_to_pop = dialled.elapsed();
        assert_eq!(
            popped,
            vec![chosen_name.clone()],
            "the call from the customer's number shows that customer, and only them"
        );
        screenshot(&window, "screen-pop.png").await?;
        window
            .find(Locator::Css("[data-testid=decline]"))
            .await?
            .click()
            .await
            .context("declining the call")?;
        let declined = tokio::time::timeout(APPEAR, async {
            while let Some(event) = caller_events.recv().await {
                if let PhoneEvent::Call(CallEvent::Ended { reason, .. }) = event {
                    return Some(reason);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        assert_eq!(
            declined,
            Some(EndReason::Failed(603)),
            "the agent's decline reaches the caller as 603"
        );

        // Measure the window as an agent would have it: the app and its WebKit processes.
        let app = find_descendant(driver.group(), "switchboard");
        let memory = app.map(tree_memory).unwrap_or_default();
        let metrics = serde_json::json!({
            "startup_to_sign_in_ms": startup_to_sign_in.as_millis() as u64,
            "sign_in_to_customer_list_ms": sign_in_to_list.as_millis() as u64,
            "dial_to_screen_pop_ms": dial_to_pop.as_millis() as u64,
            "processes": memory.processes,
            "rss_mib": memory.rss_kib / 1024,
            "pss_mib": memory.pss_kib / 1024,
        });
        std::fs::write(
            artifacts_dir("window").join("metrics.json"),
            metrics.to_string(),
        )?;
        tracing_free_print(&format!("window metrics: {metrics}"));

        // Stop the hub as an admin would; the window must say it is unreachable.
        assert!(hub.stop()?, "the hub stops cleanly on SIGTERM");
        let offline = wait::until_async("the window to notice the hub is gone", APPEAR, || async {
            attribute(&window, "[data-testid=hub-status]", "data-state")
                .await
                .filter(|state| state == "offline")
        })
        .await?;
        assert_eq!(offline, "offline", "the status follows the hub");
        let label = texts(&window, "[data-testid=hub-status]")
            .await
            .unwrap_or_default();
        assert!(
            label
                .first()
                .is_some_and(|text| text.contains("Hub unreachable")),
            "the agent reads that the hub is unreachable, got {label:?}"
        );
        // With the hub gone the desk works from its cache: another customer still opens.
        let other_id = items[SEEDED / 2 + 1]["id"]
            .as_str()
            .context("another customer's id")?
            .to_owned();
        let other_name = items[SEEDED / 2 + 1]["display_name"]
            .as_str()
            .context("another customer's name")?
            .to_owned();
        open_customer(
            &window,
            &other_id,
            &other_name,
            "the pane to open from the cache",
        )
        .await?;
        screenshot(&window, "offline.png").await?;
        anyhow::Ok(())
    }
    .await;

    // Close the session whatever happened, so the app exits before the driver is stopped.
    let _ = window.close().await;
    result
}

#[allow(clippy::print_stderr)]
fn tracing_free_print(line: &str) {
    eprintln!("{line}");
}
