//! The customer's web chat page in a real browser (headless Chromium), against the real hub
//! binary: a customer's message reaches the agent, and the agent's reply comes back live.

use std::time::Duration;

use anyhow::{Context, ensure};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use switchboard_tests::browser::Chromium;
use switchboard_tests::hub::Hub;
use switchboard_tests::{artifacts_dir, wait};

const APPEAR: Duration = Duration::from_secs(30);

/// An agent working through the hub's API, as a desktop does.
struct Agent {
    http: reqwest::Client,
    hub: String,
    token: String,
}

impl Agent {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.hub))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?.error_for_status()?;
        Ok(response.json().await.unwrap_or(Value::Null))
    }
}

async fn text_of(page: &Client, css: &str) -> Option<String> {
    page.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_chats_from_the_browser_and_sees_the_agents_reply_live() -> anyhow::Result<()> {
    let hub = Hub::start_demo(10)?;
    let agent = Agent {
        http: reqwest::Client::new(),
        hub: hub.url.clone(),
        token: hub.sign_in_as_demo_agent().await?,
    };
    let me = agent.call(reqwest::Method::GET, "/v1/me", None).await?;
    let agent_id = me["agent"]["id"]
        .as_str()
        .context("the agent's id")?
        .to_owned();
    agent
        .call(
            reqwest::Method::PUT,
            &format!("/v1/agents/{agent_id}/state"),
            Some(json!({"state": "available"})),
        )
        .await?;

    let chromium = Chromium::start(&artifacts_dir("chat-page").join("chromedriver.log"))?;
    let page = chromium.session().await?;
    let result = async {
        page.goto(&format!("{}/chat", hub.url)).await?;
        let title = page.title().await?;
        ensure!(title == "Chat with us", "the chat page is served: {title:?}");

        // The form is reachable by its labels, as a screen reader user would find it.
        page.find(Locator::Css("label[for=name]")).await.context("a labelled name field")?;
        page.find(Locator::Id("name")).await?.send_keys("Robin Browser").await?;
        page.find(Locator::Id("contact")).await?.send_keys("robin.browser@example.org").await?;
        page.find(Locator::Id("first")).await?
            .send_keys("My parcel has not arrived <b>yet</b>")
            .await?;
        page.find(Locator::Css("#start button[type=submit]")).await?.click().await?;

        // The agent is offered the chat, takes it, and reads the customer's words.
        let offer = wait::until_async("an offer of the chat", APPEAR, || async {
            let offers = agent.call(reqwest::Method::GET, "/v1/offers", None).await.ok()?;
            offers.as_array()?.first().cloned()
        })
        .await?;
        let offer_id = offer["id"].as_str().context("an offer id")?;
        let interaction = agent
            .call(reqwest::Method::POST, &format!("/v1/offers/{offer_id}/accept"), None)
            .await?;
        let interaction_id = interaction["id"].as_str().context("an interaction id")?.to_owned();
        let conversation = interaction["conversation_id"].as_str().context("a conversation")?.to_owned();

        let feed = agent.call(reqwest::Method::GET, "/v1/changes?limit=1000", None).await?;
        let customer_said: Vec<&str> = feed["changes"]
            .as_array()
            .context("changes")?
            .iter()
            .filter(|change| change["record"]["kind"] == "message")
            .filter(|change| change["record"]["record"]["conversation_id"] == conversation.as_str())
            .filter_map(|change| change["record"]["record"]["body"].as_str())
            .collect();
        ensure!(
            customer_said == ["My parcel has not arrived <b>yet</b>"],
            "the customer's message reaches the agent as typed: {customer_said:?}"
        );

        // The page says the agent joined, then shows the reply as text.
        let joined = wait::until_async("the agent joining on the page", APPEAR, || async {
            text_of(&page, "#status").await.filter(|text| text.contains("has joined"))
        })
        .await?;
        ensure!(joined.contains("Maya"), "the page names the agent: {joined:?}");
        let form_shown = page.find(Locator::Id("start")).await?.is_displayed().await?;
        ensure!(!form_shown, "the start form is gone once the chat runs");
        agent
            .call(
                reqwest::Method::POST,
                "/v1/messages",
                Some(json!({"interaction_id": interaction_id, "body": "Sorry about that, Robin. It is out for delivery today."})),
            )
            .await?;
        let reply = wait::until_async("the agent's reply on the page", APPEAR, || async {
            text_of(&page, "#messages li[data-from=agent]").await
        })
        .await?;
        ensure!(reply.contains("out for delivery today"), "the reply is shown: {reply:?}");
        ensure!(reply.contains("Maya"), "with who wrote it: {reply:?}");
        let own = text_of(&page, "#messages li[data-from=customer]").await.unwrap_or_default();
        ensure!(own.contains("<b>yet</b>"), "the customer's markup is shown as text, not run: {own:?}");

        let png = page.screenshot().await?;
        std::fs::write(artifacts_dir("chat-page").join("chat.png"), png)?;

        // The agent ends the chat; the page says so and stops taking messages.
        agent
            .call(reqwest::Method::POST, &format!("/v1/interactions/{interaction_id}/end"), None)
            .await?;
        wait::until_async("the page to show the chat ended", APPEAR, || async {
            text_of(&page, "#status").await.filter(|text| text.contains("ended"))
        })
        .await?;
        anyhow::Ok(())
    }
    .await;

    let _ = page.close().await;
    result
}
