//! The agent's whole call in the real window: baresip calls the desk from the number of a
//! seeded customer with an open ticket; the calls bar pops that customer and the pane shows the
//! ticket; the agent answers, writes a note, hangs up and wraps up with a disposition, in
//! after-call work until then; the call, the note and the wrap-up reach the hub, checked
//! through its API, and the agent is available again.

use std::net::UdpSocket;

use anyhow::Context;
use fantoccini::{Client, Locator};
use serde_json::Value;
use switchboard_tests::display::VirtualDisplay;
use switchboard_tests::driver::{Driver, app_binary};
use switchboard_tests::hub::Hub;
use switchboard_tests::page::{
    APPEAR, click, customer_with_open_ticket, feed_records, hub_json, sign_in_with_demo_login,
    text, type_into, until_attribute, until_no_calls,
};
use switchboard_tests::{artifacts_dir, wait};

// The same baresip harness the softphone's own tests use.
#[path = "../../crates/voice/tests/peers/mod.rs"]
mod peers;

const NOTE: &str = "Parcel left with a neighbour at no. 12; customer will collect tonight";
const FOLLOW_UP: &str = "Confirm the neighbour handed the parcel over";
const FOLLOW_UP_NEED: &str = "Customer wants written confirmation of the hand-over";
const FOLLOW_UP_COMMENT: &str = "Customer asked for an answer before 6 pm";

async fn screenshot(window: &Client, name: &str) -> anyhow::Result<()> {
    let png = window.screenshot().await.context("taking a screenshot")?;
    std::fs::write(artifacts_dir("call-wrap-up").join(name), png).context("saving a screenshot")
}

/// Opens a follow-up ticket from the pane's form, then raises it to urgent with a comment, and
/// returns its id once the pane shows the change.
async fn open_and_raise_a_ticket(window: &Client) -> anyhow::Result<String> {
    click(window, "[data-testid=new-ticket]").await?;
    type_into(
        window,
        "[data-testid=ticket-form] [data-testid=ticket-subject]",
        FOLLOW_UP,
    )
    .await?;
    window
        .find(Locator::Css(
            "[data-testid=ticket-form] [data-testid=ticket-priority]",
        ))
        .await?
        .select_by_value("high")
        .await?;
    type_into(
        window,
        "[data-testid=ticket-form] [data-testid=ticket-comment]",
        FOLLOW_UP_NEED,
    )
    .await?;
    click(
        window,
        "[data-testid=ticket-form] [data-testid=ticket-save]",
    )
    .await?;
    let id = wait::until_async("the new ticket among the open ones", APPEAR, || async {
        for row in window
            .find_all(Locator::Css("[data-testid=open-ticket]"))
            .await
            .ok()?
        {
            let subject = row
                .find(Locator::Css(".subject"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            if subject == FOLLOW_UP {
                return row.attr("data-id").await.ok().flatten();
            }
        }
        None
    })
    .await?;

    let row = format!("[data-testid=open-ticket][data-id='{id}']");
    click(window, &format!("{row} [data-testid=edit-ticket]")).await?;
    window
        .find(Locator::Css(&format!(
            "{row} [data-testid=ticket-priority]"
        )))
        .await?
        .select_by_value("urgent")
        .await?;
    type_into(
        window,
        &format!("{row} [data-testid=ticket-comment]"),
        FOLLOW_UP_COMMENT,
    )
    .await?;
    click(window, &format!("{row} [data-testid=ticket-save]")).await?;
    wait::until_async("the raised priority in the pane", APPEAR, || async {
        text(
            window,
            &format!("{row} [data-testid=ticket-priority-label]"),
        )
        .await
        .filter(|priority| priority == "urgent")
    })
    .await?;
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_calls_the_agent_answers_notes_hangs_up_and_wraps_up() -> anyhow::Result<()> {
    let hub = Hub::start_demo(40)?;
    let token = hub.sign_in_as_demo_agent().await?;
    let caller = customer_with_open_ticket(&hub.url, &token).await?;

    let display = VirtualDisplay::start()?;
    let driver = Driver::start(
        &display.name(),
        &hub.url,
        &artifacts_dir("call-wrap-up").join("driver.log"),
    )?;
    let sip = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    driver.write_settings(&format!("[phone]\nlisten = \"{sip}\"\n"))?;

    let window = driver.session(&app_binary()).await?;
    let result = async {
        sign_in_with_demo_login(&window).await?;
        let handled_before: u32 = wait::until_async("My day in the top bar", APPEAR, || async {
            text(&window, "[data-testid=handled]").await?.parse().ok()
        })
        .await?;

        // Search reads the cache: the open ticket's subject finds its customer.
        type_into(&window, "[data-testid=customer-search]", &caller.ticket).await?;
        let caller_in_list = format!("[data-customer-id='{}']", caller.id);
        wait::until_async(
            "the ticket's subject to find its customer",
            APPEAR,
            || async { window.find(Locator::Css(&caller_in_list)).await.ok() },
        )
        .await?;

        // The customer's own number calls the desk.
        let mut phone = peers::Baresip::start(
            &caller.number,
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
            Some(caller.name.as_str()),
            "the ringing call names the customer whose number calls"
        );
        click(&window, "[data-testid=call-customer]").await?;
        wait::until_async("the pane to show the open ticket", APPEAR, || async {
            let subject = text(&window, "[data-testid=open-ticket] .subject").await?;
            let name = text(&window, "[data-testid=customer-name]").await?;
            (name == caller.name && subject == caller.ticket).then_some(())
        })
        .await?;
        screenshot(&window, "ringing.png").await?;

        click(&window, "[data-testid=answer]").await?;
        phone.event("CALL_ESTABLISHED").await?;
        until_attribute(&window, "[data-testid=call]", "data-stage", "talking").await?;
        until_attribute(&window, "[data-testid=agent-state]", "data-state", "busy").await?;

        window
            .find(Locator::Css("[data-testid=note-body]"))
            .await?
            .send_keys(NOTE)
            .await?;
        click(&window, "[data-testid=note-save]").await?;
        wait::until_async("the note in the timeline", APPEAR, || async {
            text(&window, "[data-testid=timeline-note] .body")
                .await
                .filter(|body| body == NOTE)
        })
        .await?;
        let follow_up = open_and_raise_a_ticket(&window).await?;

        click(&window, "[data-testid=hang-up]").await?;
        phone.event("CALL_CLOSED").await?;
        until_attribute(&window, "[data-testid=call]", "data-stage", "ended").await?;
        until_attribute(
            &window,
            "[data-testid=agent-state]",
            "data-state",
            "after_call_work",
        )
        .await?;
        window
            .find(Locator::Css("[data-testid=wrap-up-disposition]"))
            .await?
            .select_by_value("callback_needed")
            .await?;
        window
            .find(Locator::Css("[data-testid=wrap-up-notes]"))
            .await?
            .send_keys("Call back tomorrow morning")
            .await?;
        screenshot(&window, "wrap-up.png").await?;
        click(&window, "[data-testid=wrap-up-submit]").await?;
        until_no_calls(&window).await?;
        until_attribute(
            &window,
            "[data-testid=agent-state]",
            "data-state",
            "available",
        )
        .await?;
        screenshot(&window, "wrapped-up.png").await?;
        wait::until_async("My day to count the call", APPEAR, || async {
            let handled: u32 = text(&window, "[data-testid=handled]").await?.parse().ok()?;
            (handled == handled_before + 1).then_some(())
        })
        .await?;

        // What the hub holds now, read through its API.
        let (interaction, note) =
            wait::until_async("the call and the note at the hub", APPEAR, || async {
                let records = hub_json(
                    &format!("{}/v1/customers/{}/records", hub.url, caller.id),
                    &token,
                )
                .await
                .ok()?;
                let records = records.as_array()?;
                let note = records
                    .iter()
                    .find(|record| record["kind"] == "note" && record["record"]["body"] == NOTE)?;
                let call = records.iter().find(|record| {
                    record["kind"] == "interaction"
                        && record["record"]["id"] == note["record"]["interaction_id"]
                })?;
                (call["record"]["state"] == "ended")
                    .then(|| (call["record"].clone(), note["record"].clone()))
            })
            .await?;
        assert_eq!(
            interaction["channel"], "call",
            "the note hangs from the call it was written in: {note}"
        );
        assert_eq!(
            interaction["remote_number"].as_str(),
            Some(caller.number.as_str()),
            "the call is logged with the number that called"
        );
        let wrap_ups = wait::until_async("the wrap-up at the hub", APPEAR, || async {
            let all = feed_records(&hub.url, &token, "wrap_up").await.ok()?;
            let ours: Vec<Value> = all
                .into_iter()
                .filter(|wrap_up| wrap_up["interaction_id"] == interaction["id"])
                .collect();
            (!ours.is_empty()).then_some(ours)
        })
        .await?;
        assert_eq!(wrap_ups.len(), 1, "one wrap-up, sent once: {wrap_ups:?}");
        assert_eq!(wrap_ups[0]["disposition"], "callback_needed");
        assert_eq!(wrap_ups[0]["notes"], "Call back tomorrow morning");
        let notes = feed_records(&hub.url, &token, "note").await?;
        assert_eq!(
            notes.iter().filter(|note| note["body"] == NOTE).count(),
            1,
            "the note reached the hub once"
        );

        let tickets = feed_records(&hub.url, &token, "ticket").await?;
        let ticket = tickets
            .iter()
            .find(|ticket| ticket["id"] == follow_up.as_str())
            .with_context(|| format!("the ticket opened in the window, {follow_up}, at the hub"))?;
        assert_eq!(
            ticket["subject"], FOLLOW_UP,
            "the ticket keeps the agent's subject"
        );
        assert_eq!(
            ticket["customer_id"],
            caller.id.as_str(),
            "it is the caller's ticket"
        );
        assert_eq!(
            ticket["priority"], "urgent",
            "the change made after opening it reached the hub after the opening"
        );
        let comments: Vec<&str> = ticket["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|comment| comment["body"].as_str())
            .collect();
        assert_eq!(
            comments,
            [FOLLOW_UP_NEED, FOLLOW_UP_COMMENT],
            "the opening comment and the later one, in the agent's order"
        );

        // The wrap-up came back from the hub through the feed by now; it still counts once.
        let handled: Option<u32> = text(&window, "[data-testid=handled]")
            .await
            .and_then(|shown| shown.parse().ok());
        assert_eq!(
            handled,
            Some(handled_before + 1),
            "the wrap-up counts once in My day, whether written here or pulled from the hub"
        );
        Ok::<(), anyhow::Error>(())
    }
    .await;

    if result.is_err() {
        let _ = screenshot(&window, "failure.png").await;
    }
    let _ = window.close().await;
    result
}
