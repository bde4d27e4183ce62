//! A branch office loses its hub, in the real window: the agent keeps working from the cache
//! (opens a customer, writes a note, solves their ticket, takes a call from them and wraps it
//! up), every write showing as waiting; when the hub comes back on the same address, each
//! write reaches it exactly once and the desk says the cache is up to date again.

use std::net::UdpSocket;

use anyhow::Context;
use fantoccini::{Client, Locator};
use switchboard_tests::display::VirtualDisplay;
use switchboard_tests::driver::{Driver, app_binary};
use switchboard_tests::hub::Hub;
use switchboard_tests::page::{
    APPEAR, attribute, click, customer_with_open_ticket, feed_records, hub_json,
    sign_in_with_demo_login, text, type_into, until_attribute,
};
use switchboard_tests::{artifacts_dir, wait};

// The same baresip harness the softphone's own tests use.
#[path = "../../crates/voice/tests/peers/mod.rs"]
mod peers;

const NOTE: &str = "Written while the branch was cut off from the hub";

async fn screenshot(window: &Client, name: &str) -> anyhow::Result<()> {
    let png = window.screenshot().await.context("taking a screenshot")?;
    std::fs::write(artifacts_dir("offline-window").join(name), png).context("saving a screenshot")
}

/// How many writes the top bar says wait for the hub.
async fn waiting(window: &Client) -> Option<u32> {
    attribute(window, "[data-testid=sync-status]", "data-pending")
        .await?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_works_through_an_outage_and_every_write_arrives_once() -> anyhow::Result<()> {
    let mut hub = Hub::start_demo(40)?;
    let token = hub.sign_in_as_demo_agent().await?;
    let customer = customer_with_open_ticket(&hub.url, &token).await?;

    let display = VirtualDisplay::start()?;
    let driver = Driver::start(
        &display.name(),
        &hub.url,
        &artifacts_dir("offline-window").join("driver.log"),
    )?;
    let sip = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    driver.write_settings(&format!("[phone]\nlisten = \"{sip}\"\n"))?;
    let window = driver.session(&app_binary()).await?;

    let result = async {
        sign_in_with_demo_login(&window).await?;
        click(&window, &format!("[data-customer-id='{}']", customer.id)).await?;
        wait::until_async("the customer's open ticket in the pane", APPEAR, || async {
            text(&window, "[data-testid=open-ticket] .subject")
                .await
                .filter(|subject| *subject == customer.ticket)
        })
        .await?;

        // The link goes.
        assert!(hub.stop()?, "the hub stops cleanly");
        until_attribute(
            &window,
            "[data-testid=sync-status]",
            "data-state",
            "offline",
        )
        .await?;

        // The agent works on: a note, the ticket solved, a call taken and wrapped up.
        type_into(&window, "[data-testid=note-body]", NOTE).await?;
        click(&window, "[data-testid=note-save]").await?;
        wait::until_async("the note shown, waiting for the hub", APPEAR, || async {
            let note = window
                .find(Locator::Css("[data-testid=timeline-note]"))
                .await
                .ok()?;
            let body = note
                .find(Locator::Css(".body"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            let pending = note.find(Locator::Css("[data-testid=pending]")).await.ok();
            (body == NOTE && pending.is_some()).then_some(())
        })
        .await?;
        click(
            &window,
            &format!(
                "[data-testid=open-ticket][data-id='{}'] [data-testid=solve-ticket]",
                customer.ticket_id
            ),
        )
        .await?;
        wait::until_async("the ticket to leave the open list", APPEAR, || async {
            let open = window
                .find_all(Locator::Css(&format!(
                    "[data-testid=open-ticket][data-id='{}']",
                    customer.ticket_id
                )))
                .await
                .ok()?;
            open.is_empty().then_some(())
        })
        .await?;

        let mut phone = peers::Baresip::start(
            &customer.number,
            peers::Account::Direct {
                answermode: "manual",
            },
        )
        .await?;
        phone.command("dial", &format!("sip:agent@{sip}")).await?;
        until_attribute(&window, "[data-testid=call]", "data-stage", "ringing").await?;
        let popped = text(&window, "[data-testid=call-customer]").await;
        assert_eq!(
            popped.as_deref(),
            Some(customer.name.as_str()),
            "the screen pop works from the cache with the hub away"
        );
        click(&window, "[data-testid=answer]").await?;
        phone.event("CALL_ESTABLISHED").await?;
        until_attribute(&window, "[data-testid=call]", "data-stage", "talking").await?;
        click(&window, "[data-testid=hang-up]").await?;
        phone.event("CALL_CLOSED").await?;
        until_attribute(&window, "[data-testid=call]", "data-stage", "ended").await?;
        click(&window, "[data-testid=wrap-up-submit]").await?;
        wait::until_async("every write waiting in the outbox", APPEAR, || async {
            // The note, the ticket, the call's two logs, its wrap-up, and the agent's states.
            waiting(&window).await.filter(|count| *count >= 5)
        })
        .await?;
        screenshot(&window, "offline.png").await?;

        // The link comes back, on the same address.
        hub.restart()?;
        until_attribute(&window, "[data-testid=sync-status]", "data-state", "synced").await?;
        wait::until_async("the outbox to empty", APPEAR, || async {
            waiting(&window).await.filter(|count| *count == 0)
        })
        .await?;
        screenshot(&window, "back-online.png").await?;

        // Everything reached the hub, once.
        let token = hub.sign_in_as_demo_agent().await?;
        let notes = feed_records(&hub.url, &token, "note").await?;
        let ours: Vec<_> = notes.iter().filter(|note| note["body"] == NOTE).collect();
        assert_eq!(ours.len(), 1, "the note arrived once: {ours:?}");
        let ticket = hub_json(
            &format!("{}/v1/records/{}", hub.url, customer.ticket_id),
            &token,
        )
        .await?;
        assert_eq!(
            ticket["record"]["status"], "solved",
            "the ticket change arrived: {ticket}"
        );
        let calls: Vec<_> = feed_records(&hub.url, &token, "interaction")
            .await?
            .into_iter()
            .filter(|interaction| {
                interaction["customer_id"] == customer.id.as_str()
                    && interaction["id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("int_call-"))
            })
            .collect();
        assert_eq!(
            calls.len(),
            1,
            "the call was logged as one interaction: {calls:?}"
        );
        assert_eq!(calls[0]["state"], "ended", "with its end");
        let wrap_ups: Vec<_> = feed_records(&hub.url, &token, "wrap_up")
            .await?
            .into_iter()
            .filter(|wrap_up| wrap_up["interaction_id"] == calls[0]["id"])
            .collect();
        assert_eq!(wrap_ups.len(), 1, "and one wrap-up: {wrap_ups:?}");
        Ok::<(), anyhow::Error>(())
    }
    .await;

    if result.is_err() {
        let _ = screenshot(&window, "failure.png").await;
    }
    let _ = window.close().await;
    result
}
