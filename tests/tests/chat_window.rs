//! A chat that moves to a call, in the real window: a seeded customer writes from the web chat
//! page (headless Chromium); the agent, available, is offered the chat in the window, accepts
//! it and reads the message; each side sees the other typing; the reply reaches the page;
//! hostile messages from the page show as
//! text and run nothing; then the agent calls the customer from the chat (through kamailio, to
//! a baresip registered as the customer's number), and the call joins the chat's conversation:
//! the hub holds both in one, and the pane's timeline shows both.

use std::net::UdpSocket;

use anyhow::{Context, bail};
use fantoccini::{Client, Locator};
use serde_json::Value;
use switchboard_tests::browser::Chromium;
use switchboard_tests::display::VirtualDisplay;
use switchboard_tests::driver::{Driver, app_binary};
use switchboard_tests::hub::Hub;
use switchboard_tests::page::{
    APPEAR, click, hub_json, set_agent_state, sign_in_with_demo_login, text, texts, type_into,
    until_attribute, until_no_calls,
};
use switchboard_tests::{artifacts_dir, wait};

// The same SIP peers the softphone's own tests use.
#[path = "../../crates/voice/tests/peers/mod.rs"]
mod peers;

const FIRST: &str = "Hello, my order has not arrived";
const REPLY: &str = "Sorry to hear that. Let me look it up.";

/// What a customer may type that a careless window would run or fetch.
const HOSTILE: &[&str] = &[
    "<script>window.__pwned = 1</script>",
    "<img src=x onerror=\"window.__pwned = 2\">",
    "<a href=\"javascript:window.__pwned = 3\">click me</a>",
    "<img src=\"http://192.0.2.1/tracker.png\">",
    "\u{202e}txet tfel-ot-thgir \u{05e9}\u{05dc}\u{05d5}\u{05dd}",
];

async fn screenshot(page: &Client, name: &str) -> anyhow::Result<()> {
    let png = page.screenshot().await.context("taking a screenshot")?;
    std::fs::write(artifacts_dir("chat-window").join(name), png).context("saving a screenshot")
}

/// A seeded customer with an e-mail address and a phone number of their own.
struct Customer {
    id: String,
    name: String,
    email: String,
    phone: String,
}

async fn chatty_customer(hub: &Hub, token: &str) -> anyhow::Result<Customer> {
    let listed = hub_json(&format!("{}/v1/customers?limit=500", hub.url), token).await?;
    for item in listed["items"]
        .as_array()
        .context("the hub lists customers")?
    {
        let (Some(id), Some(phone), Some(email)) = (
            item["id"].as_str(),
            item["primary_phone"].as_str(),
            item["primary_email"].as_str(),
        ) else {
            continue;
        };
        let sharing = |kind: &str, value: &str| {
            format!(
                "{}/v1/customers/by-identity?kind={kind}&value={}",
                hub.url,
                value.replace('+', "%2B")
            )
        };
        let by_phone = hub_json(&sharing("phone", phone), token).await?;
        let by_email = hub_json(&sharing("email", email), token).await?;
        if by_phone.as_array().map(Vec::len) == Some(1)
            && by_email.as_array().map(Vec::len) == Some(1)
        {
            return Ok(Customer {
                id: id.to_owned(),
                name: item["display_name"].as_str().context("a name")?.to_owned(),
                email: email.to_owned(),
                phone: phone.to_owned(),
            });
        }
    }
    bail!("no seeded customer has an e-mail address and a phone number of their own")
}

/// Sends `text` from the chat page's composer.
async fn customer_says(page: &Client, text: &str) -> anyhow::Result<()> {
    let field = page
        .find(Locator::Id("line"))
        .await
        .context("the page's composer")?;
    field.clear().await?;
    field.send_keys(text).await?;
    page.find(Locator::Css("#reply button[type=submit]"))
        .await
        .context("the page's send button")?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_chat_is_answered_in_the_window_and_continues_as_a_call() -> anyhow::Result<()> {
    let hub = Hub::start_demo(40)?;
    let token = hub.sign_in_as_demo_agent().await?;
    let customer = chatty_customer(&hub, &token).await?;

    // A registrar where the desk is "agent" and the customer's phone is their number.
    let kamailio =
        peers::Kamailio::start(&[("agent", "agent-secret"), (&customer.phone, "phone")])?;
    let mut phone = peers::Baresip::start(
        &customer.phone,
        peers::Account::Registered {
            registrar: kamailio.address,
            password: "phone",
            answermode: "auto",
        },
    )
    .await?;
    phone.event("REGISTER_OK").await?;

    let display = VirtualDisplay::start()?;
    let driver = Driver::start(
        &display.name(),
        &hub.url,
        &artifacts_dir("chat-window").join("driver.log"),
    )?;
    let sip = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    driver.write_settings(&format!(
        "[phone]\nlisten = \"{sip}\"\nregistrar = \"{registrar}\"\nuser = \"agent\"\n\
         password = \"agent-secret\"\noutbound_proxy = \"{proxy}\"\n",
        registrar = kamailio.uri(),
        proxy = kamailio.address,
    ))?;
    let window = driver.session(&app_binary()).await?;
    let chromium = Chromium::start(&artifacts_dir("chat-window").join("chromedriver.log"))?;
    let page = chromium.session().await?;

    let result = async {
        sign_in_with_demo_login(&window).await?;
        until_attribute(
            &window,
            "[data-testid=phone-line]",
            "data-state",
            "registered",
        )
        .await?;
        set_agent_state(&window, "available").await?;

        // The customer starts a chat on the web page, as themselves.
        page.goto(&format!("{}/chat", hub.url)).await?;
        page.find(Locator::Id("name"))
            .await?
            .send_keys(&customer.name)
            .await?;
        page.find(Locator::Id("contact"))
            .await?
            .send_keys(&customer.email)
            .await?;
        page.find(Locator::Id("first"))
            .await?
            .send_keys(FIRST)
            .await?;
        page.find(Locator::Css("#start button[type=submit]"))
            .await?
            .click()
            .await?;

        // The window is offered it, names the customer, and the agent accepts.
        let offered = wait::until_async("the chat offered in the window", APPEAR, || async {
            text(&window, "[data-testid=offer] .name").await
        })
        .await?;
        assert_eq!(
            offered, customer.name,
            "the offer names the customer who writes"
        );
        screenshot(&window, "offered.png").await?;
        click(&window, "[data-testid=accept-offer]").await?;
        wait::until_async("the customer's message in the thread", APPEAR, || async {
            texts(&window, "[data-testid=message][data-from=customer] .body")
                .await
                .filter(|said| said.iter().any(|line| line == FIRST))
        })
        .await?;

        // Each side sees the other type: the customer starts a line on the page…
        let line = page.find(Locator::Id("line")).await?;
        line.send_keys("I also wanted to ask").await?;
        let typing = wait::until_async("the customer typing, in the window", APPEAR, || async {
            text(&window, "[data-testid=customer-typing]").await
        })
        .await?;
        assert_eq!(
            typing,
            format!("{} is typing…", customer.name),
            "the window names who is typing"
        );
        line.clear().await?;

        // …and the agent's first keystrokes reach the page before the reply does.
        type_into(&window, "[data-testid=chat-composer]", REPLY).await?;
        wait::until_async("the agent typing, on the page", APPEAR, || async {
            text(&page, "#typing")
                .await
                .filter(|shown| shown.ends_with("is typing…"))
        })
        .await?;
        click(&window, "[data-testid=chat-send]").await?;
        wait::until_async("the agent's reply on the page", APPEAR, || async {
            text(&page, "#messages li[data-from=agent]")
                .await
                .filter(|reply| reply.contains(REPLY))
        })
        .await?;

        // Hostile text from the page arrives as text and runs nothing.
        for line in HOSTILE {
            customer_says(&page, line).await?;
        }
        let shown = wait::until_async("every hostile message in the thread", APPEAR, || async {
            texts(&window, "[data-testid=message][data-from=customer] .body")
                .await
                .filter(|said| HOSTILE.iter().all(|line| said.iter().any(|s| s == line)))
        })
        .await?;
        assert_eq!(
            shown[shown.len() - HOSTILE.len()..],
            HOSTILE[..],
            "the customer's lines, sent within a second or two, stand in the order they were sent"
        );
        let made = window
            .find_all(Locator::Css(
                "[data-testid=thread] img, [data-testid=thread] script, [data-testid=thread] a",
            ))
            .await?;
        assert!(
            made.is_empty(),
            "no element was made from a message's markup"
        );
        let pwned = window
            .execute(
                "return window.__pwned === undefined ? null : window.__pwned;",
                vec![],
            )
            .await?;
        assert_eq!(pwned, Value::Null, "and no script from a message ran");
        screenshot(&window, "chat.png").await?;

        // "Call this customer" from the chat: the call rings their phone and is answered.
        click(&window, "[data-testid=call-customer-from-chat]").await?;
        phone.event("CALL_ESTABLISHED").await?;
        until_attribute(&window, "[data-testid=call]", "data-stage", "talking").await?;
        click(&window, "[data-testid=hang-up]").await?;
        phone.event("CALL_CLOSED").await?;
        until_attribute(&window, "[data-testid=call]", "data-stage", "ended").await?;
        click(&window, "[data-testid=wrap-up-submit]").await?;
        // The calls bar closes once the call is wrapped up, which moves what is below it; the
        // chat's own wrap-up is pressed after that, where it then stands.
        until_no_calls(&window).await?;
        click(&window, "[data-testid=chat-wrap-up-submit]").await?;
        wait::until_async("the chat to leave the work list", APPEAR, || async {
            window
                .find_all(Locator::Css("[data-testid=chat]"))
                .await
                .ok()
                .filter(Vec::is_empty)
        })
        .await?;
        wait::until_async("the page to show the chat ended", APPEAR, || async {
            text(&page, "#status")
                .await
                .filter(|status| status.contains("ended"))
        })
        .await?;

        // At the hub the chat and the call are one conversation.
        let (chat, call) =
            wait::until_async("the chat and the call at the hub", APPEAR, || async {
                let records = hub_json(
                    &format!(
                        "{}/v1/customers/{}/records?kind=interaction",
                        hub.url, customer.id
                    ),
                    &token,
                )
                .await
                .ok()?;
                let records = records.as_array()?;
                let chat = records.iter().find(|r| {
                    r["record"]["channel"] == "chat"
                        && r["record"]["state"] == "ended"
                        && r["record"]["started_at"].as_str() >= Some("2026")
                        && r["record"]["agent_id"].is_string()
                })?;
                let call = records.iter().find(|r| {
                    r["record"]["channel"] == "call"
                        && r["record"]["direction"] == "outbound"
                        && r["record"]["conversation_id"] == chat["record"]["conversation_id"]
                        && r["record"]["state"] == "ended"
                })?;
                Some((chat["record"].clone(), call["record"].clone()))
            })
            .await?;
        assert_eq!(
            call["remote_number"].as_str(),
            Some(customer.phone.as_str()),
            "the call went to the customer's number; chat {chat}"
        );

        // The pane's timeline holds both.
        wait::until_async("the pane to show the customer", APPEAR, || async {
            if text(&window, "[data-testid=customer-name]")
                .await
                .as_deref()
                != Some(&customer.name)
            {
                let _ = click(&window, &format!("[data-customer-id='{}']", customer.id)).await;
                return None;
            }
            let ids = window
                .find_all(Locator::Css("[data-testid=timeline-interaction]"))
                .await
                .ok()?;
            let mut shown = Vec::new();
            for entry in ids {
                shown.push(entry.attr("data-id").await.ok()??);
            }
            let both = [chat["id"].as_str()?, call["id"].as_str()?]
                .iter()
                .all(|id| shown.iter().any(|s| s == id));
            both.then_some(())
        })
        .await?;
        screenshot(&window, "timeline.png").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;

    if result.is_err() {
        let _ = screenshot(&window, "failure.png").await;
        let _ = screenshot(&page, "failure-page.png").await;
    }
    let _ = page.close().await;
    let _ = window.close().await;
    result
}
