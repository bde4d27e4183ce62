//! What the end-to-end tests do to a page (the desktop window or a browser page) and ask of the
//! hub: find, read and click elements, wait for an attribute, sign in with the demo login, and
//! read the hub's API as the agent. Each wait ends as soon as its condition holds; the limit
//! only bounds a failure.

use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::wait;

/// Generous: a cold WebKit start can take a while on a shared machine.
pub const APPEAR: Duration = Duration::from_secs(60);

/// `GET url` on the hub with the agent's token, as JSON.
pub async fn hub_json(url: &str, token: &str) -> anyhow::Result<Value> {
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

/// Attribute `name` of the first element matching `css`, if there is one.
pub async fn attribute(page: &Client, css: &str, name: &str) -> Option<String> {
    let element = page.find(Locator::Css(css)).await.ok()?;
    element.attr(name).await.ok().flatten()
}

/// The text of the first element matching `css`, if there is one.
pub async fn text(page: &Client, css: &str) -> Option<String> {
    page.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// The text of every element matching `css`, or `None` while there are none.
pub async fn texts(page: &Client, css: &str) -> Option<Vec<String>> {
    let elements = page.find_all(Locator::Css(css)).await.ok()?;
    if elements.is_empty() {
        return None;
    }
    let mut texts = Vec::with_capacity(elements.len());
    for element in elements {
        texts.push(element.text().await.ok()?);
    }
    Some(texts)
}

/// Clicks the first element matching `css`.
pub async fn click(page: &Client, css: &str) -> anyhow::Result<()> {
    page.find(Locator::Css(css))
        .await
        .with_context(|| format!("finding {css}"))?
        .click()
        .await
        .with_context(|| format!("clicking {css}"))?;
    Ok(())
}

/// Types `keys` into the first element matching `css`.
pub async fn type_into(page: &Client, css: &str, keys: &str) -> anyhow::Result<()> {
    page.find(Locator::Css(css))
        .await
        .with_context(|| format!("finding {css}"))?
        .send_keys(keys)
        .await
        .with_context(|| format!("typing into {css}"))?;
    Ok(())
}

/// Waits until the first element matching `css` has attribute `name` equal to `wanted`.
pub async fn until_attribute(
    page: &Client,
    css: &str,
    name: &str,
    wanted: &str,
) -> anyhow::Result<()> {
    wait::until_async(
        &format!("{css} to have {name}={wanted}"),
        APPEAR,
        || async { (attribute(page, css, name).await.as_deref() == Some(wanted)).then_some(()) },
    )
    .await
}

/// Sets the agent's state from the top bar's picker, as the agent would, and waits until the
/// window shows it taken.
pub async fn set_agent_state(window: &Client, state: &str) -> anyhow::Result<()> {
    window
        .find(Locator::Css("[data-testid=agent-state] select"))
        .await
        .context("finding the agent's state picker")?
        .select_by_value(state)
        .await
        .with_context(|| format!("choosing {state}"))?;
    until_attribute(window, "[data-testid=agent-state]", "data-state", state).await
}

/// Waits until the calls bar is empty: every call wrapped up (or gone) and the bar closed,
/// which moves what stands below it.
pub async fn until_no_calls(window: &Client) -> anyhow::Result<()> {
    wait::until_async("the calls bar to empty", APPEAR, || async {
        window
            .find_all(Locator::Css("[data-testid=call]"))
            .await
            .ok()
            .filter(Vec::is_empty)
            .map(drop)
    })
    .await
}

/// Signs the window in with the login a demo hub offers (filled in by the window once the
/// hub answers), and waits until the cache is filled and synced.
pub async fn sign_in_with_demo_login(window: &Client) -> anyhow::Result<()> {
    let submit = wait::until_async("an enabled sign-in button", APPEAR, || async {
        let button = window
            .find(Locator::Css("[data-testid=sign-in-submit]"))
            .await
            .ok()?;
        let login = window
            .find(Locator::Css("[data-testid=sign-in-login]"))
            .await
            .ok()?
            .prop("value")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        (button.is_enabled().await.ok()? && !login.is_empty()).then_some(button)
    })
    .await?;
    submit.click().await.context("pressing Sign in")?;
    until_attribute(window, "[data-testid=sync-status]", "data-state", "synced").await
}

/// Every record of `kind` in the hub's change feed, read from the start.
pub async fn feed_records(hub: &str, token: &str, kind: &str) -> anyhow::Result<Vec<Value>> {
    let mut found = Vec::new();
    let mut after = String::new();
    loop {
        let url = if after.is_empty() {
            format!("{hub}/v1/changes?limit=5000")
        } else {
            format!("{hub}/v1/changes?limit=5000&after={after}")
        };
        let page = hub_json(&url, token).await?;
        for change in page["changes"].as_array().context("a page of changes")? {
            if change["record"]["kind"] == kind {
                found.push(change["record"]["record"].clone());
            }
        }
        if page["has_more"] != true {
            return Ok(found);
        }
        after = page["cursor"].as_str().context("a cursor")?.to_owned();
    }
}

/// A seeded customer with an open ticket and a phone number nobody else has.
#[derive(Debug, Clone)]
pub struct SeededCustomer {
    pub id: String,
    pub name: String,
    /// Their phone number, E.164.
    pub number: String,
    pub ticket_id: String,
    /// The open ticket's subject.
    pub ticket: String,
}

/// The first seeded customer with an open ticket and a phone number of their own.
pub async fn customer_with_open_ticket(hub: &str, token: &str) -> anyhow::Result<SeededCustomer> {
    let listed = hub_json(&format!("{}/v1/customers?limit=500", hub), token).await?;
    for item in listed["items"]
        .as_array()
        .context("the hub lists customers")?
    {
        let id = item["id"].as_str().context("a customer id")?;
        let Some(number) = item["primary_phone"].as_str() else {
            continue;
        };
        let tickets = hub_json(
            &format!("{}/v1/customers/{id}/records?kind=ticket", hub),
            token,
        )
        .await?;
        let open = tickets.as_array().and_then(|tickets| {
            tickets.iter().find(|ticket| {
                matches!(
                    ticket["record"]["status"].as_str(),
                    Some("new" | "open" | "pending")
                )
            })
        });
        let Some(open) = open else {
            continue;
        };
        let sharing = hub_json(
            &format!(
                "{}/v1/customers/by-identity?kind=phone&value={}",
                hub,
                number.replace('+', "%2B")
            ),
            token,
        )
        .await?;
        if sharing.as_array().map(Vec::len) != Some(1) {
            continue;
        }
        return Ok(SeededCustomer {
            id: id.to_owned(),
            name: item["display_name"].as_str().context("a name")?.to_owned(),
            number: number.to_owned(),
            ticket_id: open["record"]["id"]
                .as_str()
                .context("a ticket id")?
                .to_owned(),
            ticket: open["record"]["subject"]
                .as_str()
                .context("a subject")?
                .to_owned(),
        });
    }
    bail!("no seeded customer has an open ticket and a number of their own")
}
