//! The hub's API, route by route, on both databases it supports: the same scenarios run on the
//! embedded SQLite and on a private PostgreSQL server on loopback.
//!
//! Every scenario gets a fresh database holding two tenants: the demo tenant (A) and a small
//! second one (B) whose only customer shares a phone number with one of A's, so that leaks
//! between tenants show up as wrong answers rather than passing unnoticed.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_hub::db::Database;
use switchboard_hub::{
    DEMO_PASSWORD, HubState, base_url, create_tenant, demo_tenant, seed_demo, serve,
};
use switchboard_model::{
    Agent, AgentId, AgentState, Capacity, Channel, Conversation, ConversationId, Customer,
    CustomerId, Direction, Identity, IdentityKind, Interaction, InteractionId, InteractionState,
    Record, RecordKind, Role, TenantId,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A hub served in-process on a loopback port.
struct Served {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn start(db: Database, max_in_flight: usize) -> anyhow::Result<Served> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = base_url(listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let state = HubState::new(db, true, max_in_flight);
        let task = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Served {
            url,
            stop: Some(stop),
            task,
        })
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Streams end when the stop begins, but a client that holds a connection open keeps
        // it; the scenario is over, so a hub still busy after a moment is simply dropped.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }
}

/// The two tenants every scenario starts from, and who can sign in to each.
struct World {
    hub: String,
    db: Database,
    http: reqwest::Client,
    /// Tenant A's agent, supervisor and admin.
    maya: String,
    priya: String,
    sam: String,
    /// Tenant B's agent and admin.
    bob: String,
    bea: String,
    maya_id: String,
    tomas_id: String,
    a_customer: String,
    a_phone: String,
    a_ticket: String,
    a_note: String,
    a_chat: String,
    b_customer: String,
    b_chat: String,
}

const TENANT_B: u64 = 2;

async fn build_world(db: Database, hub: String) -> anyhow::Result<World> {
    seed_demo(&db, 7, 30).await?;
    let a = demo_tenant();
    let a_changes = db.changes(&a, 0, 100_000).await?;
    let first = |kind: RecordKind| {
        a_changes.changes.iter().find_map(|change| match change {
            switchboard_model::Change::Upsert { record, .. } if record.kind() == kind => {
                Some((**record).clone())
            }
            _ => None,
        })
    };
    let Some(Record::Customer(a_customer)) = first(RecordKind::Customer) else {
        bail!("the demo tenant has customers");
    };
    let a_ticket = first(RecordKind::Ticket).context("the demo has tickets")?;
    let a_note = first(RecordKind::Note).context("the demo has notes")?;
    let a_chat = a_changes
        .changes
        .iter()
        .find_map(|change| match change {
            switchboard_model::Change::Upsert { record, .. } => match &**record {
                Record::Interaction(interaction) if interaction.channel == Channel::Chat => {
                    Some(interaction.id.to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .context("the demo has chats")?;
    let a_phone = a_customer
        .primary(IdentityKind::Phone)
        .context("demo customers have phones")?
        .value
        .clone();

    // Tenant B: two people, one customer who shares A's customer's number, one chat.
    let b = TenantId::from_number(TENANT_B);
    create_tenant(&db, b.clone(), "Brightside Telecom").await?;
    let now = "2026-12-01T09:00:00Z".to_owned();
    let person = |number: u64, name: &str, login: &str, role: Role| Agent {
        id: AgentId::from_number(number),
        display_name: name.to_owned(),
        login: login.to_owned(),
        role,
        state: AgentState::Offline,
        state_since: now.clone(),
        capacity: Capacity { calls: 1, chats: 2 },
        queues: Vec::new(),
        version: 0,
    };
    let bob = person(101, "Bob Brown", "bob@b.example.com", Role::Agent);
    let bea = person(102, "Bea Black", "bea@b.example.com", Role::Admin);
    let b_customer = Customer {
        id: CustomerId::from_number(0xb0b),
        display_name: "Zed Shared-Number".to_owned(),
        company: None,
        language: "en-GB".to_owned(),
        city: None,
        country: Some("GB".to_owned()),
        tier: "standard".to_owned(),
        created_at: now.clone(),
        updated_at: now.clone(),
        identities: vec![Identity {
            kind: IdentityKind::Phone,
            value: a_phone.clone(),
            label: None,
            primary: true,
        }],
    };
    let conversation = Conversation {
        id: ConversationId::from_number(0xb0b),
        customer_id: b_customer.id.clone(),
        topic: None,
        opened_at: now.clone(),
        closed_at: None,
        version: 0,
    };
    let b_chat = Interaction {
        id: InteractionId::from_number(0xb0b),
        conversation_id: conversation.id.clone(),
        customer_id: b_customer.id.clone(),
        channel: Channel::Chat,
        direction: Direction::Inbound,
        state: InteractionState::Active,
        queue_id: None,
        agent_id: Some(bob.id.clone()),
        remote_number: None,
        started_at: now.clone(),
        answered_at: Some(now.clone()),
        ended_at: None,
        offered_to: Vec::new(),
        version: 0,
    };
    db.put_records(
        &b,
        &[
            Record::Agent(bob.clone()),
            Record::Agent(bea.clone()),
            Record::Customer(b_customer.clone()),
            Record::Conversation(conversation),
            Record::Interaction(b_chat.clone()),
        ],
    )
    .await?;
    db.put_login(&b, &bob.id, &bob.login, Role::Agent, "bob-password-1")
        .await?;
    db.put_login(&b, &bea.id, &bea.login, Role::Admin, "bea-password-1")
        .await?;

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?;
    let login = |login: &'static str, password: &'static str| {
        let http = http.clone();
        let hub = hub.clone();
        async move {
            let answer: Value = http
                .post(format!("{hub}/v1/auth/login"))
                .json(&json!({"login": login, "password": password}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(answer["token"].as_str().context("a token")?.to_owned())
        }
    };
    let agents = db.records_of_kind(&a, RecordKind::Agent).await?;
    let id_of = |login: &str| {
        agents.iter().find_map(|stored| match &stored.record {
            Record::Agent(agent) if agent.login == login => Some(agent.id.to_string()),
            _ => None,
        })
    };
    Ok(World {
        maya: login("maya@demo.example.com", DEMO_PASSWORD).await?,
        priya: login("priya@demo.example.com", DEMO_PASSWORD).await?,
        sam: login("sam@demo.example.com", DEMO_PASSWORD).await?,
        bob: login("bob@b.example.com", "bob-password-1").await?,
        bea: login("bea@b.example.com", "bea-password-1").await?,
        maya_id: id_of("maya@demo.example.com").context("maya is a demo agent")?,
        tomas_id: id_of("tomas@demo.example.com").context("tomas is a demo agent")?,
        a_customer: a_customer.id.to_string(),
        a_phone,
        a_ticket: a_ticket.id().to_owned(),
        a_note: a_note.id().to_owned(),
        a_chat,
        b_customer: b_customer.id.to_string(),
        b_chat: b_chat.id.to_string(),
        hub,
        db,
        http,
    })
}

/// One answer: status, headers that matter, and the JSON body (null when there is none).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    replayed: bool,
    body: Value,
}

impl World {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = self.http.request(method, format!("{}{path}", self.hub));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let replayed = header("idempotent-replayed").is_some();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("JSON from {path}: {text}"))?
        };
        Ok(Answer {
            status,
            etag,
            replayed,
            body,
        })
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<Answer> {
        self.call(Method::GET, path, Some(token), &[], None).await
    }

    async fn post(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> anyhow::Result<Answer> {
        self.call(Method::POST, path, Some(token), headers, Some(body))
            .await
    }

    async fn put(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> anyhow::Result<Answer> {
        self.call(Method::PUT, path, Some(token), headers, Some(body))
            .await
    }

    async fn patch(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> anyhow::Result<Answer> {
        self.call(Method::PATCH, path, Some(token), headers, Some(body))
            .await
    }

    /// Reads a tenant's whole change feed from `after` in pages of `limit`, checking that
    /// cursors only move forward.
    async fn feed(
        &self,
        token: &str,
        after: &str,
        limit: u32,
    ) -> anyhow::Result<(Vec<Value>, String)> {
        let mut changes = Vec::new();
        let mut cursor = after.to_owned();
        loop {
            let page = self
                .get(&format!("/v1/changes?limit={limit}&after={cursor}"), token)
                .await?;
            ensure!(page.status == 200, "the feed is served: {:?}", page.body);
            let next = page.body["cursor"].as_str().context("a cursor")?.to_owned();
            ensure!(
                next.parse::<i64>()? >= cursor.parse::<i64>().unwrap_or(0),
                "a cursor never moves backwards: {cursor} then {next}"
            );
            changes.extend(page.body["changes"].as_array().cloned().unwrap_or_default());
            cursor = next;
            if page.body["has_more"] != true {
                return Ok((changes, cursor));
            }
        }
    }
}

/// The record ids a list of changes names.
fn ids(changes: &[Value]) -> Vec<String> {
    changes
        .iter()
        .map(|change| {
            change["record"]["record"]["id"]
                .as_str()
                .or(change["id"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// A client of `/v1/events` that reads server-sent events one at a time.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(
        world: &World,
        token: &str,
        last_event_id: Option<&str>,
    ) -> anyhow::Result<Events> {
        Events::open_at(world, "/v1/events", token, last_event_id).await
    }

    async fn open_at(
        world: &World,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> anyhow::Result<Events> {
        let mut request = world
            .http
            .get(format!("{}{path}", world.hub))
            .bearer_auth(token)
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await?;
        ensure!(
            response.status() == 200,
            "the stream opens: {}",
            response.status()
        );
        ensure!(
            response
                .headers()
                .get("content-type")
                .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream")),
            "and is an event stream"
        );
        Ok(Events {
            response,
            buffer: String::new(),
        })
    }

    /// The next event block, the text up to its blank line. Waits at most 20 seconds, so that
    /// a missing event fails the test instead of hanging it.
    async fn next_block(&mut self) -> anyhow::Result<String> {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    return Ok(self.buffer.drain(..end + 2).collect());
                }
                let chunk = self.response.chunk().await?.context("the stream ended")?;
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .context("no event came within 20 s")?
    }

    /// The next `change` event as (id, data); keep-alive comments and signals without an id
    /// are skipped.
    async fn next(&mut self) -> anyhow::Result<(String, Value)> {
        loop {
            let block = self.next_block().await?;
            let mut id = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("id:") {
                    id = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            if let Some(id) = id {
                return Ok((id, serde_json::from_str(&data)?));
            }
        }
    }

    /// Every event block up to and including the first that holds `text`.
    async fn blocks_until(&mut self, text: &str) -> anyhow::Result<Vec<String>> {
        let mut blocks = Vec::new();
        loop {
            let block = self.next_block().await?;
            let last = block.contains(text);
            blocks.push(block);
            if last {
                return Ok(blocks);
            }
        }
    }

    /// The next event named `typing`, as its data; changes before it are skipped.
    async fn next_typing(&mut self) -> anyhow::Result<Value> {
        loop {
            let block = self.next_block().await?;
            if !block.lines().any(|line| line.trim() == "event: typing") {
                continue;
            }
            ensure!(
                !block.lines().any(|line| line.starts_with("id:")),
                "a typing signal carries no id, so a reconnect does not skip to it"
            );
            let data: String = block
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            return Ok(serde_json::from_str(&data)?);
        }
    }
}

type Scenario = fn(&World) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + '_>>;

/// Every scenario, by name; each runs on each database.
const SCENARIOS: &[(&str, Scenario)] = &[
    ("login_issues_tokens_and_logout_revokes_them", |w| {
        Box::pin(login_and_logout(w))
    }),
    ("every_route_refuses_a_missing_or_forged_token", |w| {
        Box::pin(tokens_required(w))
    }),
    ("tenants_never_see_or_touch_each_others_records", |w| {
        Box::pin(tenant_isolation(w))
    }),
    ("a_repeated_idempotency_key_changes_nothing", |w| {
        Box::pin(idempotency(w))
    }),
    ("a_stale_if_match_gets_412_with_the_current_record", |w| {
        Box::pin(etag_conflicts(w))
    }),
    ("invalid_input_is_refused_naming_the_field", |w| {
        Box::pin(invalid_input(w))
    }),
    ("customer_pages_visit_everyone_once_in_order", |w| {
        Box::pin(customer_paging(w))
    }),
    ("the_change_feed_serves_from_zero_and_from_a_cursor", |w| {
        Box::pin(change_feed(w))
    }),
    ("the_event_stream_resumes_without_gaps", |w| {
        Box::pin(stream_resume(w))
    }),
    ("roles_limit_what_an_agent_may_write", |w| {
        Box::pin(roles(w))
    }),
    ("tickets_open_change_and_collect_comments", |w| {
        Box::pin(ticket_life(w))
    }),
    (
        "a_web_chat_is_offered_declined_passed_on_accepted_and_answered",
        |w| Box::pin(chat_routing(w)),
    ),
    (
        "an_offer_not_answered_in_time_passes_to_the_next_agent",
        |w| Box::pin(offer_expiry(w)),
    ),
    ("a_desk_logs_its_own_call_and_wraps_it_up", |w| {
        Box::pin(call_log(w))
    }),
    (
        "typing_passes_live_between_the_customer_and_the_agent",
        |w| Box::pin(typing(w)),
    ),
];

/// Polls `probe` until it yields a value; bounded so that a routing bug fails the test.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{what} did not happen within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl World {
    async fn sign_in(&self, login: &str) -> anyhow::Result<String> {
        let answer = self
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                &[],
                Some(json!({"login": login, "password": DEMO_PASSWORD})),
            )
            .await?;
        Ok(answer.body["token"].as_str().context("a token")?.to_owned())
    }

    async fn set_state(&self, token: &str, agent: &str, state: &str) -> anyhow::Result<()> {
        let path = format!("/v1/agents/{agent}/state");
        let answer = self
            .call(
                Method::PUT,
                &path,
                Some(token),
                &[],
                Some(json!({ "state": state })),
            )
            .await?;
        ensure!(answer.status == 200, "{agent} becomes {state}: {answer:?}");
        Ok(())
    }

    /// Waits for a pending offer to the agent of `token` and returns it.
    async fn offer_for(&self, token: &str) -> anyhow::Result<Value> {
        eventually("an offer", || async {
            let offers = self.get("/v1/offers", token).await?;
            Ok(offers
                .body
                .as_array()
                .and_then(|offers| offers.first().cloned()))
        })
        .await
    }

    /// Starts a web chat as a customer, as the /chat page does; returns its token and the
    /// interaction.
    async fn start_chat(
        &self,
        name: &str,
        contact: &str,
        message: &str,
    ) -> anyhow::Result<(String, String)> {
        let started = self
            .call(
                Method::POST,
                "/v1/chat/sessions",
                None,
                &[],
                Some(json!({"name": name, "contact": contact, "message": message})),
            )
            .await?;
        ensure!(started.status == 201, "the chat starts: {started:?}");
        Ok((
            started.body["token"]
                .as_str()
                .context("a chat token")?
                .to_owned(),
            started.body["interaction_id"]
                .as_str()
                .context("an interaction")?
                .to_owned(),
        ))
    }
}

async fn chat_routing(w: &World) -> anyhow::Result<()> {
    let tomas = w.sign_in("tomas@demo.example.com").await?;
    let mut agent_events = Events::open(w, &w.maya, None).await?;
    let (chat_token, interaction) = w
        .start_chat("Robin Example", "robin@example.org", "Where is my parcel?")
        .await?;

    let status = w.get("/v1/chat/status", &chat_token).await?;
    ensure!(
        status.body["state"] == "waiting" && status.body["position"] == 1,
        "first in line: {status:?}"
    );
    let stats = w.get("/v1/queues/stats", &w.maya).await?;
    let queue = stats
        .body
        .as_array()
        .context("stats")?
        .iter()
        .find(|queue| queue["waiting"] == 1)
        .context("a queue holds the chat")?
        .clone();
    ensure!(
        queue["available_agents"] == 0
            && queue["line"][0]["interaction_id"] == interaction.as_str(),
        "nobody is available yet: {queue}"
    );

    // Maya becomes available first, so she has been idle longest.
    w.set_state(&w.maya, &w.maya_id, "available").await?;
    w.set_state(&tomas, &w.tomas_id, "available").await?;
    let offer = w.offer_for(&w.maya).await?;
    ensure!(
        offer["interaction_id"] == interaction.as_str() && offer["channel"] == "chat",
        "{offer}"
    );
    let others = w.get("/v1/offers", &tomas).await?;
    ensure!(
        others.body == json!([]),
        "one offer at a time: {:?}",
        others.body
    );

    // The offer reached Maya's live stream too.
    // Events::next itself waits at most 20 s, so this loop is bounded too.
    let offered = loop {
        let (_, change) = agent_events.next().await?;
        if change["record"]["kind"] == "offer" {
            break change;
        }
    };
    ensure!(
        offered["record"]["record"]["agent_id"] == w.maya_id.as_str(),
        "{offered}"
    );

    let offer_id = offer["id"].as_str().context("an offer id")?;
    let accept = format!("/v1/offers/{offer_id}/accept");
    let stolen = w
        .call(Method::POST, &accept, Some(&tomas), &[], None)
        .await?;
    ensure!(
        stolen.status == 403,
        "only Maya can take Maya's offer: {stolen:?}"
    );
    let decline = format!("/v1/offers/{offer_id}/decline");
    let declined = w
        .call(Method::POST, &decline, Some(&w.maya), &[], None)
        .await?;
    ensure!(declined.status == 204, "{declined:?}");
    let late = w
        .call(Method::POST, &accept, Some(&w.maya), &[], None)
        .await?;
    ensure!(
        late.status == 409 && late.body["code"] == "offer_closed",
        "a declined offer is closed: {late:?}"
    );

    let second = w.offer_for(&tomas).await?;
    ensure!(
        second["interaction_id"] == interaction.as_str(),
        "the chat passes to Tomas: {second}"
    );
    let second_id = second["id"].as_str().context("an offer id")?;
    let accept = format!("/v1/offers/{second_id}/accept");
    let accepted = w
        .call(Method::POST, &accept, Some(&tomas), &[], None)
        .await?;
    ensure!(
        accepted.status == 200
            && accepted.body["state"] == "active"
            && accepted.body["agent_id"] == w.tomas_id.as_str(),
        "{accepted:?}"
    );

    let connected = w.get("/v1/chat/status", &chat_token).await?;
    ensure!(
        connected.body["state"] == "connected" && connected.body["position"].is_null(),
        "{connected:?}"
    );

    // Customer and agent talk; each side sees the other's words.
    let mut chat_events = Events::open_at(w, "/v1/chat/events", &chat_token, None).await?;
    let reply = w
        .post(
            "/v1/messages",
            &tomas,
            &[],
            json!({"interaction_id": interaction, "body": "Hello Robin, let me look"}),
        )
        .await?;
    ensure!(reply.status == 201, "{reply:?}");
    let said = w
        .post(
            "/v1/chat/messages",
            &chat_token,
            &[],
            json!({"body": "Thanks!"}),
        )
        .await?;
    ensure!(said.status == 201, "{said:?}");
    let mut heard = Vec::new();
    while heard.len() < 3 {
        let (_, event) = chat_events.next().await?;
        if event["type"] == "message" {
            heard.push(format!(
                "{}: {}",
                event["from"].as_str().unwrap_or("?"),
                event["body"].as_str().unwrap_or("?")
            ));
        }
    }
    ensure!(
        heard
            == [
                "customer: Where is my parcel?",
                "agent: Hello Robin, let me look",
                "customer: Thanks!"
            ],
        "the customer's page hears the whole chat in order: {heard:?}"
    );

    let end = format!("/v1/interactions/{interaction}/end");
    let ended = w.call(Method::POST, &end, Some(&tomas), &[], None).await?;
    ensure!(
        ended.status == 200 && ended.body["state"] == "ended",
        "{ended:?}"
    );
    let closed = w
        .post(
            "/v1/chat/messages",
            &chat_token,
            &[],
            json!({"body": "one more"}),
        )
        .await?;
    ensure!(
        closed.status == 409,
        "an ended chat takes no more messages: {closed:?}"
    );
    Ok(())
}

async fn typing(w: &World) -> anyhow::Result<()> {
    let (chat_token, interaction) = w
        .start_chat("Robin Example", "robin@example.org", "Hello?")
        .await?;
    w.set_state(&w.maya, &w.maya_id, "available").await?;
    let offer = w.offer_for(&w.maya).await?;
    let accept = format!(
        "/v1/offers/{}/accept",
        offer["id"].as_str().context("an id")?
    );
    let accepted = w
        .call(Method::POST, &accept, Some(&w.maya), &[], None)
        .await?;
    ensure!(accepted.status == 200, "{accepted:?}");
    let conversation = accepted.body["conversation_id"].clone();

    // Everyone listens before anyone types: typing is not replayed to a late stream.
    let tomas = w.sign_in("tomas@demo.example.com").await?;
    let mut agent_events = Events::open(w, &w.maya, None).await?;
    let mut bystander_events = Events::open(w, &tomas, None).await?;
    let mut page_events = Events::open_at(w, "/v1/chat/events", &chat_token, None).await?;

    let typed = w
        .call(
            Method::POST,
            "/v1/chat/typing",
            Some(&chat_token),
            &[],
            None,
        )
        .await?;
    ensure!(typed.status == 204, "{typed:?}");
    let heard = agent_events.next_typing().await?;
    ensure!(
        heard
            == json!({
                "conversation_id": conversation,
                "interaction_id": interaction,
                "party": "customer",
            }),
        "the agent hears the customer typing in that chat: {heard}"
    );

    // Another agent's stream carries the customer's next message but not the typing before it.
    let said = w
        .post(
            "/v1/chat/messages",
            &chat_token,
            &[],
            json!({"body": "Still there?"}),
        )
        .await?;
    ensure!(said.status == 201, "{said:?}");
    let blocks = bystander_events.blocks_until("Still there?").await?;
    ensure!(
        !blocks.iter().any(|block| block.contains("event: typing")),
        "only the agent who holds the chat hears the customer type: {blocks:?}"
    );

    let path = format!("/v1/interactions/{interaction}/typing");
    let typed = w
        .call(Method::POST, &path, Some(&w.maya), &[], None)
        .await?;
    ensure!(typed.status == 204, "{typed:?}");
    let heard = page_events.next_typing().await?;
    ensure!(
        heard["party"] == "agent" && heard["conversation_id"] == conversation,
        "the customer's page hears the agent typing: {heard}"
    );

    let other = w.call(Method::POST, &path, Some(&tomas), &[], None).await?;
    ensure!(
        other.status == 403,
        "only the agent who holds the chat types in it: {other:?}"
    );
    let unknown = w
        .call(
            Method::POST,
            "/v1/interactions/int_nothing/typing",
            Some(&w.maya),
            &[],
            None,
        )
        .await?;
    ensure!(unknown.status == 404, "{unknown:?}");
    Ok(())
}

async fn offer_expiry(w: &World) -> anyhow::Result<()> {
    // Offers in the demo wait 20 s; the queues' wait is cut to one second for the test.
    let tenant = demo_tenant();
    for stored in w.db.records_of_kind(&tenant, RecordKind::Queue).await? {
        if let Record::Queue(mut queue) = stored.record {
            queue.offer_timeout_seconds = 1;
            w.db.put_records(&tenant, &[Record::Queue(queue)]).await?;
        }
    }
    let tomas = w.sign_in("tomas@demo.example.com").await?;
    w.set_state(&w.maya, &w.maya_id, "available").await?;
    w.set_state(&tomas, &w.tomas_id, "available").await?;
    let (_, interaction) = w
        .start_chat("Sam Sample", "+447700900999", "Hello?")
        .await?;

    let first = w.offer_for(&w.maya).await?;
    ensure!(first["interaction_id"] == interaction.as_str(), "{first}");
    let second = w.offer_for(&tomas).await?;
    ensure!(
        second["interaction_id"] == interaction.as_str(),
        "unanswered, it moves on to Tomas: {second}"
    );
    let first_id = first["id"].as_str().unwrap_or_default();
    let expired = w.get(&format!("/v1/records/{first_id}"), &w.maya).await?;
    ensure!(
        expired.body["record"]["state"] == "expired",
        "Maya's offer is marked expired: {expired:?}"
    );
    let record = w
        .get(&format!("/v1/records/{interaction}"), &w.maya)
        .await?;
    ensure!(
        record.body["record"]["offered_to"] == json!([w.maya_id, w.tomas_id]),
        "the interaction remembers whom it was offered to: {record:?}"
    );
    Ok(())
}

async fn login_and_logout(w: &World) -> anyhow::Result<()> {
    let wrong = w
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            &[],
            Some(json!({"login": "maya@demo.example.com", "password": "nope"})),
        )
        .await?;
    ensure!(
        wrong.status == 401,
        "a wrong password is refused: {wrong:?}"
    );
    ensure!(
        wrong.body["code"] == "invalid_credentials",
        "with a stable code: {wrong:?}"
    );
    let unknown = w
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            &[],
            Some(json!({"login": "nobody@demo.example.com", "password": DEMO_PASSWORD})),
        )
        .await?;
    ensure!(
        unknown.status == 401 && unknown.body["code"] == wrong.body["code"],
        "an unknown login looks exactly like a wrong password: {unknown:?}"
    );

    let answer = w
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            &[],
            Some(json!({"login": "MAYA@demo.example.com", "password": DEMO_PASSWORD})),
        )
        .await?;
    ensure!(answer.status == 200, "logins ignore case: {answer:?}");
    ensure!(
        answer.body["agent"]["login"] == "maya@demo.example.com",
        "the answer names the agent"
    );
    ensure!(
        answer.body["tenant"]["id"] == demo_tenant().as_str(),
        "and the tenant"
    );
    let token = answer.body["token"].as_str().context("a token")?.to_owned();

    let me = w.get("/v1/me", &token).await?;
    ensure!(
        me.status == 200 && me.body["agent"]["id"] == w.maya_id.as_str(),
        "the token names Maya: {me:?}"
    );

    let out = w
        .call(Method::POST, "/v1/auth/logout", Some(&token), &[], None)
        .await?;
    ensure!(out.status == 204, "logout answers 204: {out:?}");
    let after = w.get("/v1/me", &token).await?;
    ensure!(
        after.status == 401,
        "a revoked token no longer works: {after:?}"
    );
    let other = w.get("/v1/me", &w.maya).await?;
    ensure!(
        other.status == 200,
        "other sessions of the same agent go on: {other:?}"
    );
    Ok(())
}

async fn tokens_required(w: &World) -> anyhow::Result<()> {
    let routes: &[(Method, String)] = &[
        (Method::GET, "/v1/me".to_owned()),
        (Method::POST, "/v1/auth/logout".to_owned()),
        (Method::GET, "/v1/customers".to_owned()),
        (
            Method::GET,
            format!(
                "/v1/customers/by-identity?kind=phone&value={}",
                w.a_phone.replace('+', "%2B")
            ),
        ),
        (Method::GET, format!("/v1/customers/{}", w.a_customer)),
        (
            Method::GET,
            format!("/v1/customers/{}/records", w.a_customer),
        ),
        (Method::GET, format!("/v1/records/{}", w.a_ticket)),
        (Method::GET, "/v1/changes".to_owned()),
        (Method::GET, "/v1/events".to_owned()),
        (Method::POST, "/v1/tickets".to_owned()),
        (Method::PATCH, format!("/v1/tickets/{}", w.a_ticket)),
        (Method::POST, format!("/v1/tickets/{}/comments", w.a_ticket)),
        (Method::POST, "/v1/notes".to_owned()),
        (Method::PATCH, format!("/v1/notes/{}", w.a_note)),
        (Method::POST, "/v1/messages".to_owned()),
        (Method::POST, "/v1/wrap-ups".to_owned()),
        (Method::PUT, "/v1/calls/int_1".to_owned()),
        (Method::GET, "/v1/agents".to_owned()),
        (Method::POST, "/v1/agents".to_owned()),
        (Method::PUT, format!("/v1/agents/{}/state", w.maya_id)),
        (Method::GET, "/v1/queues".to_owned()),
        (Method::GET, "/v1/queues/stats".to_owned()),
        (Method::GET, "/v1/offers".to_owned()),
        (Method::POST, "/v1/offers/ofr_1/accept".to_owned()),
        (Method::POST, "/v1/offers/ofr_1/decline".to_owned()),
        (Method::POST, format!("/v1/interactions/{}/end", w.a_chat)),
        (
            Method::POST,
            format!("/v1/interactions/{}/typing", w.a_chat),
        ),
        // The chat page's routes take a chat token; an agent's token is not one either.
        (Method::POST, "/v1/chat/messages".to_owned()),
        (Method::POST, "/v1/chat/end".to_owned()),
        (Method::POST, "/v1/chat/typing".to_owned()),
        (Method::GET, "/v1/chat/status".to_owned()),
        (Method::GET, "/v1/chat/events".to_owned()),
    ];
    for (method, path) in routes {
        for token in [None, Some("sbt_forged"), Some("")] {
            let answer = w
                .call(method.clone(), path, token, &[], Some(json!({})))
                .await?;
            ensure!(
                answer.status == 401 && answer.body["code"] == "unauthenticated",
                "{method} {path} with token {token:?} must be refused: {answer:?}"
            );
        }
    }

    let documented: Value = w
        .http
        .get(format!("{}/v1/openapi.json", w.hub))
        .send()
        .await?
        .json()
        .await?;
    let mut documented_routes = 0;
    for (path, item) in documented["paths"].as_object().context("paths")? {
        for (method, operation) in item.as_object().context("operations")? {
            documented_routes += 1;
            let public =
                ["/v1/health", "/v1/auth/login", "/v1/chat/sessions"].contains(&path.as_str());
            ensure!(
                public || operation["security"].is_array(),
                "{method} {path} must declare its bearer token in the document"
            );
        }
    }
    for (method, path) in routes
        .iter()
        .filter(|(_, path)| path.starts_with("/v1/chat/"))
    {
        let answer = w
            .call(method.clone(), path, Some(&w.maya), &[], Some(json!({})))
            .await?;
        ensure!(
            answer.status == 401,
            "{method} {path} refuses an agent's token: {answer:?}"
        );
    }
    ensure!(
        documented_routes == routes.len() + 3,
        "every route here is documented, and only these: {documented_routes} documented"
    );
    Ok(())
}

async fn tenant_isolation(w: &World) -> anyhow::Result<()> {
    // Reads: B asks for A's things by id and gets "not found", never "forbidden", so that it
    // cannot even learn they exist.
    for path in [
        format!("/v1/customers/{}", w.a_customer),
        format!("/v1/customers/{}/records", w.a_customer),
        format!("/v1/records/{}", w.a_ticket),
        format!("/v1/records/{}", w.a_note),
        format!("/v1/records/{}", w.a_chat),
        format!("/v1/records/{}", w.maya_id),
    ] {
        let answer = w.get(&path, &w.bob).await?;
        ensure!(
            answer.status == 404,
            "B reading {path} must get 404: {answer:?}"
        );
    }

    let shared = w
        .get(
            &format!(
                "/v1/customers/by-identity?kind=phone&value={}",
                w.a_phone.replace('+', "%2B")
            ),
            &w.bob,
        )
        .await?;
    let found: Vec<&str> = shared
        .body
        .as_array()
        .context("a list")?
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    ensure!(
        found == [w.b_customer.as_str()],
        "a number both tenants hold finds only B's customer: {found:?}"
    );
    let shared_a = w
        .get(
            &format!(
                "/v1/customers/by-identity?kind=phone&value={}",
                w.a_phone.replace('+', "%2B")
            ),
            &w.maya,
        )
        .await?;
    ensure!(
        !shared_a.body.to_string().contains(&w.b_customer),
        "and A's lookup never shows B's: {:?}",
        shared_a.body
    );

    let list = w.get("/v1/customers?limit=500", &w.bob).await?;
    let listed: Vec<&str> = list.body["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    ensure!(
        listed == [w.b_customer.as_str()],
        "B's list holds only B's customer: {listed:?}"
    );
    let search = w.get("/v1/customers?q=a", &w.bob).await?;
    ensure!(
        search.body["items"]
            .as_array()
            .is_some_and(|items| items.len() <= 1),
        "a search never reaches into A: {:?}",
        search.body
    );

    let agents = w.get("/v1/agents", &w.bob).await?;
    let names: Vec<&str> = agents
        .body
        .as_array()
        .context("agents")?
        .iter()
        .filter_map(|a| a["login"].as_str())
        .collect();
    ensure!(
        names.iter().all(|login| login.ends_with("@b.example.com")),
        "B sees only its own people: {names:?}"
    );
    let queues = w.get("/v1/queues", &w.bob).await?;
    ensure!(
        queues.body == json!([]),
        "B has no queues, and sees none of A's: {:?}",
        queues.body
    );

    let (b_feed, b_cursor) = w.feed(&w.bob, "", 100).await?;
    let b_ids = ids(&b_feed);
    ensure!(
        b_ids.len() == 5,
        "B's feed from zero holds its five records: {b_ids:?}"
    );
    ensure!(!b_ids.contains(&w.a_customer), "and nothing of A's");

    // Writes: every write that names A's records from B is refused and changes nothing.
    let a_cursor = w.feed(&w.maya, "", 1000).await?.1;
    let writes: Vec<(Method, String, Value, u16)> = vec![
        (
            Method::POST,
            "/v1/tickets".to_owned(),
            json!({"customer_id": w.a_customer, "subject": "x"}),
            422,
        ),
        (
            Method::PATCH,
            format!("/v1/tickets/{}", w.a_ticket),
            json!({"subject": "x"}),
            404,
        ),
        (
            Method::POST,
            format!("/v1/tickets/{}/comments", w.a_ticket),
            json!({"body": "x"}),
            404,
        ),
        (
            Method::POST,
            "/v1/notes".to_owned(),
            json!({"customer_id": w.a_customer, "body": "x"}),
            422,
        ),
        (
            Method::PATCH,
            format!("/v1/notes/{}", w.a_note),
            json!({"body": "x"}),
            404,
        ),
        (
            Method::POST,
            "/v1/messages".to_owned(),
            json!({"interaction_id": w.a_chat, "body": "x"}),
            422,
        ),
        (
            Method::POST,
            "/v1/wrap-ups".to_owned(),
            json!({"interaction_id": w.a_chat, "disposition": "resolved", "handle_seconds": 1}),
            422,
        ),
        (
            Method::PUT,
            format!("/v1/agents/{}/state", w.maya_id),
            json!({"state": "break"}),
            404,
        ),
    ];
    for (method, path, body, expected) in writes {
        // Bea is B's admin: even the highest role of another tenant gets nowhere.
        let answer = w
            .call(
                method.clone(),
                &path,
                Some(&w.bea),
                &[("if-match", "\"1\"")],
                Some(body),
            )
            .await?;
        ensure!(
            answer.status.as_u16() == expected,
            "B's {method} {path} must get {expected}: {answer:?}"
        );
    }
    let (after, _) = w.feed(&w.maya, &a_cursor, 1000).await?;
    ensure!(after.is_empty(), "A's feed did not move: {after:?}");

    // Routing: a chat waiting in A, offered to Maya, is invisible and untouchable from B.
    let (chat_token, a_waiting) = w
        .start_chat(
            "Robin Example",
            "robin@example.org",
            "Is my order on its way?",
        )
        .await?;
    w.set_state(&w.maya, &w.maya_id, "available").await?;
    let offer = w.offer_for(&w.maya).await?;
    let offer_id = offer["id"].as_str().context("an offer id")?.to_owned();
    for token in [&w.bob, &w.bea] {
        let offers = w.get("/v1/offers", token).await?;
        ensure!(
            offers.body == json!([]),
            "B has no offers: {:?}",
            offers.body
        );
        let stats = w.get("/v1/queues/stats", token).await?;
        ensure!(
            stats.body == json!([]),
            "B's queue picture holds none of A's queues: {:?}",
            stats.body
        );
        let record = w.get(&format!("/v1/records/{offer_id}"), token).await?;
        ensure!(record.status == 404, "B cannot read A's offer: {record:?}");
        for path in [
            format!("/v1/offers/{offer_id}/accept"),
            format!("/v1/offers/{offer_id}/decline"),
            format!("/v1/interactions/{a_waiting}/end"),
            format!("/v1/interactions/{}/end", w.a_chat),
        ] {
            let answer = w.call(Method::POST, &path, Some(token), &[], None).await?;
            ensure!(
                answer.status == 404,
                "B's POST {path} must get 404: {answer:?}"
            );
        }
    }
    let still = w.get("/v1/offers", &w.maya).await?;
    ensure!(
        still.body[0]["id"] == offer_id.as_str() && still.body[0]["state"] == "pending",
        "A's offer is still Maya's to answer: {:?}",
        still.body
    );

    // Chat tokens and agent tokens are different keys: neither opens the other's doors, so a
    // customer cannot read an agent's records and an agent of B cannot post into A's chat.
    for (path, token) in [
        ("/v1/me", chat_token.as_str()),
        ("/v1/changes", chat_token.as_str()),
        ("/v1/chat/status", w.bob.as_str()),
        ("/v1/chat/status", w.maya.as_str()),
    ] {
        let answer = w.get(path, token).await?;
        ensure!(
            answer.status == 401,
            "{path} with the wrong kind of token must get 401: {answer:?}"
        );
    }
    let posted = w
        .call(
            Method::POST,
            "/v1/chat/messages",
            Some(&w.bob),
            &[],
            Some(json!({"body": "hello from B"})),
        )
        .await?;
    ensure!(
        posted.status == 401,
        "an agent token cannot speak as a customer: {posted:?}"
    );
    let b_chat = w
        .call(
            Method::POST,
            "/v1/chat/sessions",
            None,
            &[],
            Some(json!({
                "tenant": TenantId::from_number(TENANT_B),
                "name": "Robin Example",
                "contact": "robin@example.org",
                "message": "hello",
            })),
        )
        .await?;
    ensure!(
        b_chat.status == 404,
        "B takes no chats, so a chat for B does not land in A's queue: {b_chat:?}"
    );

    // Writes by B inside B work, and reach only B's feed and stream.
    let mut a_stream = Events::open(w, &w.maya, None).await?;
    let mut b_stream = Events::open(w, &w.bob, None).await?;
    let note = w
        .post(
            "/v1/notes",
            &w.bob,
            &[],
            json!({"customer_id": w.b_customer, "body": "B's own note"}),
        )
        .await?;
    ensure!(note.status == 201, "B writes in B: {note:?}");
    let a_note = w
        .post(
            "/v1/notes",
            &w.maya,
            &[],
            json!({"customer_id": w.a_customer, "body": "A's own note"}),
        )
        .await?;
    ensure!(a_note.status == 201, "A writes in A: {a_note:?}");
    let (_, b_event) = b_stream.next().await?;
    ensure!(
        b_event["record"]["record"]["id"] == note.body["id"],
        "B's stream carries B's note first: {b_event}"
    );
    let (_, a_event) = a_stream.next().await?;
    ensure!(
        a_event["record"]["record"]["id"] == a_note.body["id"],
        "A's stream skips B's note: {a_event}"
    );
    let (b_new, _) = w.feed(&w.bob, &b_cursor, 100).await?;
    ensure!(
        ids(&b_new) == [note.body["id"].as_str().unwrap_or_default()],
        "B's feed gained just its note"
    );

    // An admin of B adds a person to B; A's list does not grow.
    let added = w
        .post(
            "/v1/agents",
            &w.bea,
            &[],
            json!({
                "display_name": "Ben Blue",
                "login": "ben@b.example.com",
                "password": "ben-password-1",
                "role": "agent",
            }),
        )
        .await?;
    ensure!(added.status == 201, "B's admin adds to B: {added:?}");
    let a_people = w.get("/v1/agents", &w.maya).await?;
    ensure!(
        !a_people.body.to_string().contains("ben@b.example.com"),
        "A's people do not include B's new one"
    );
    Ok(())
}

async fn idempotency(w: &World) -> anyhow::Result<()> {
    let (_, cursor) = w.feed(&w.maya, "", 1000).await?;
    let body = json!({"customer_id": w.a_customer, "body": "Called about the delayed parcel"});
    let key = [("idempotency-key", "op-note-1")];

    let first = w.post("/v1/notes", &w.maya, &key, body.clone()).await?;
    ensure!(
        first.status == 201 && !first.replayed,
        "the first request creates: {first:?}"
    );
    let again = w.post("/v1/notes", &w.maya, &key, body.clone()).await?;
    ensure!(
        again.status == 201,
        "a retry gets the same status: {again:?}"
    );
    ensure!(again.replayed, "marked as a replay");
    ensure!(
        again.body == first.body,
        "and the very same record, id included"
    );
    ensure!(again.etag == first.etag, "and the same ETag");

    let (changes, _) = w.feed(&w.maya, &cursor, 100).await?;
    ensure!(
        changes.len() == 1,
        "the feed holds one change for two requests: {changes:?}"
    );

    let other = w
        .post(
            "/v1/notes",
            &w.maya,
            &key,
            json!({"customer_id": w.a_customer, "body": "Something else"}),
        )
        .await?;
    ensure!(
        other.status == 422 && other.body["code"] == "idempotency_key_reused",
        "the same key with another body is refused: {other:?}"
    );
    ensure!(
        other.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Idempotency-Key")),
        "naming the header: {other:?}"
    );
    let elsewhere = w
        .post(
            "/v1/tickets",
            &w.maya,
            &key,
            json!({"customer_id": w.a_customer, "subject": "x"}),
        )
        .await?;
    ensure!(
        elsewhere.status == 422,
        "or on another route: {elsewhere:?}"
    );

    // Updates are idempotent too: the retry of an update that moved the version does not
    // fail on its own stale If-Match.
    let id = first.body["id"].as_str().context("an id")?;
    let etag = first.etag.clone().context("an etag")?;
    let change = [
        ("idempotency-key", "op-note-2"),
        ("if-match", etag.as_str()),
    ];
    let updated = w
        .patch(
            &format!("/v1/notes/{id}"),
            &w.maya,
            &change,
            json!({"body": "v2"}),
        )
        .await?;
    let retried = w
        .patch(
            &format!("/v1/notes/{id}"),
            &w.maya,
            &change,
            json!({"body": "v2"}),
        )
        .await?;
    ensure!(
        updated.status == 200 && retried.status == 200,
        "{updated:?} {retried:?}"
    );
    ensure!(
        retried.replayed && retried.etag == updated.etag,
        "the retry is the first answer"
    );
    let (changes, _) = w.feed(&w.maya, &cursor, 100).await?;
    ensure!(
        changes.len() == 1,
        "still one change: the note in its latest state: {changes:?}"
    );
    ensure!(changes[0]["version"] == 2, "at version 2: {changes:?}");
    Ok(())
}

async fn etag_conflicts(w: &World) -> anyhow::Result<()> {
    let created = w
        .post(
            "/v1/tickets",
            &w.maya,
            &[],
            json!({"customer_id": w.a_customer, "subject": "Parcel lost"}),
        )
        .await?;
    ensure!(created.status == 201, "{created:?}");
    ensure!(
        created.etag.as_deref() == Some("\"1\""),
        "a new record is at version 1: {created:?}"
    );
    ensure!(created.body["version"] == 1, "and says so in its body");
    let id = created.body["id"].as_str().context("an id")?.to_owned();
    let path = format!("/v1/tickets/{id}");

    let no_precondition = w
        .patch(&path, &w.maya, &[], json!({"status": "open"}))
        .await?;
    ensure!(
        no_precondition.status == 428,
        "an update without If-Match is refused: {no_precondition:?}"
    );

    let first = w
        .patch(
            &path,
            &w.maya,
            &[("if-match", "\"1\"")],
            json!({"status": "open"}),
        )
        .await?;
    ensure!(
        first.status == 200 && first.etag.as_deref() == Some("\"2\""),
        "{first:?}"
    );

    let stale = w
        .patch(
            &path,
            &w.priya,
            &[("if-match", "\"1\"")],
            json!({"priority": "urgent"}),
        )
        .await?;
    ensure!(
        stale.status == 412,
        "a change based on version 1 is refused: {stale:?}"
    );
    ensure!(stale.body["code"] == "version_mismatch", "{stale:?}");
    ensure!(
        stale.body["version"] == 2 && stale.etag.as_deref() == Some("\"2\""),
        "with the current version: {stale:?}"
    );
    ensure!(
        stale.body["current"]["record"]["status"] == "open",
        "and the current record: {stale:?}"
    );
    ensure!(
        stale.body["current"]["record"]["priority"] == "normal",
        "unchanged by the refused write"
    );

    let get = w.get(&format!("/v1/records/{id}"), &w.maya).await?;
    ensure!(
        get.etag.as_deref() == Some("\"2\""),
        "reads carry the same ETag: {get:?}"
    );

    let exists = w
        .post(
            "/v1/tickets",
            &w.maya,
            &[],
            json!({"id": id, "customer_id": w.a_customer, "subject": "again"}),
        )
        .await?;
    ensure!(
        exists.status == 409 && exists.body["current"]["record"]["id"] == id.as_str(),
        "{exists:?}"
    );
    Ok(())
}

async fn invalid_input(w: &World) -> anyhow::Result<()> {
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/v1/tickets",
            json!({"customer_id": w.a_customer, "subject": "  "}),
            400,
            "subject",
        ),
        (
            "/v1/tickets",
            json!({"subject": "No customer"}),
            400,
            "customer_id",
        ),
        (
            "/v1/tickets",
            json!({"customer_id": "cus_nobody", "subject": "x"}),
            422,
            "customer_id",
        ),
        (
            "/v1/tickets",
            json!({"customer_id": w.a_customer, "subject": "x", "priority": "whenever"}),
            400,
            "whenever",
        ),
        (
            "/v1/tickets",
            json!({"customer_id": w.a_customer, "subject": "x", "colour": "red"}),
            400,
            "colour",
        ),
        (
            "/v1/tickets",
            json!({"id": "not_1", "customer_id": w.a_customer, "subject": "x"}),
            400,
            "id",
        ),
        (
            "/v1/notes",
            json!({"customer_id": w.a_customer, "body": ""}),
            400,
            "body",
        ),
        (
            "/v1/messages",
            json!({"interaction_id": "int_nothing", "body": "hi"}),
            422,
            "interaction_id",
        ),
        (
            "/v1/wrap-ups",
            json!({"interaction_id": w.a_chat, "disposition": "Not A Code", "handle_seconds": 3}),
            400,
            "disposition",
        ),
    ];
    for (path, body, status, field) in cases {
        let answer = w.post(path, &w.maya, &[], body.clone()).await?;
        ensure!(
            answer.status.as_u16() == status,
            "POST {path} {body} must get {status}: {answer:?}"
        );
        ensure!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "the message names {field}: {answer:?}"
        );
    }
    for path in [
        "/v1/customers?limit=0",
        "/v1/changes?limit=5001",
        "/v1/changes?after=abc",
    ] {
        let answer = w.get(path, &w.maya).await?;
        ensure!(answer.status == 400, "{path}: {answer:?}");
    }
    let bad_match = w
        .patch(
            &format!("/v1/tickets/{}", w.a_ticket),
            &w.maya,
            &[("if-match", "*")],
            json!({}),
        )
        .await?;
    ensure!(
        bad_match.status == 400
            && bad_match.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("If-Match")),
        "{bad_match:?}"
    );
    Ok(())
}

async fn customer_paging(w: &World) -> anyhow::Result<()> {
    let all = w.get("/v1/customers?limit=500", &w.maya).await?;
    let everyone: Vec<String> = all.body["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        everyone.len() == 30,
        "the demo tenant holds 30 customers: {}",
        everyone.len()
    );

    let mut paged = Vec::new();
    let mut path = "/v1/customers?limit=7".to_owned();
    loop {
        let page = w.get(&path, &w.maya).await?;
        ensure!(page.status == 200, "{page:?}");
        paged.extend(
            page.body["items"]
                .as_array()
                .context("items")?
                .iter()
                .filter_map(|c| c["id"].as_str().map(str::to_owned)),
        );
        match page.body["next"].as_str() {
            Some(next) => path = format!("/v1/customers?limit=7&cursor={next}"),
            None => break,
        }
    }
    ensure!(
        paged == everyone,
        "pages of 7 visit everyone once, in the same order"
    );

    let customer = w
        .get(&format!("/v1/customers/{}", w.a_customer), &w.maya)
        .await?;
    let name = customer.body["display_name"].as_str().context("a name")?;
    let family = name.split(' ').next_back().unwrap_or(name).to_lowercase();
    let found = w.get(&format!("/v1/customers?q={family}"), &w.maya).await?;
    ensure!(
        found.body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|c| c["id"] == w.a_customer.as_str())),
        "a search for {family:?} finds {name}: {:?}",
        found.body
    );
    let digits = &w.a_phone[w.a_phone.len() - 6..];
    let by_number = w.get(&format!("/v1/customers?q={digits}"), &w.maya).await?;
    ensure!(
        by_number.body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|c| c["id"] == w.a_customer.as_str())),
        "and so does a part of the number: {:?}",
        by_number.body
    );
    let records = w
        .get(&format!("/v1/customers/{}/records", w.a_customer), &w.maya)
        .await?;
    ensure!(
        records
            .body
            .as_array()
            .is_some_and(|records| records.iter().all(|r| r["kind"] != "customer")),
        "a customer's records are the things around them: {:?}",
        records.body
    );
    Ok(())
}

async fn change_feed(w: &World) -> anyhow::Result<()> {
    let (everything, cursor) = w.feed(&w.maya, "", 50).await?;
    let mut seen = std::collections::HashSet::new();
    for id in ids(&everything) {
        ensure!(
            seen.insert(id.clone()),
            "{id} appears once in the feed from zero"
        );
    }
    let count = |kind: &str| {
        everything
            .iter()
            .filter(|c| c["record"]["kind"] == kind)
            .count()
    };
    ensure!(
        count("customer") == 30 && count("agent") == 8,
        "the whole demo world is there"
    );

    let (again, _) = w.feed(&w.maya, "", 50).await?;
    ensure!(
        again == everything,
        "reading from zero twice gives the same changes"
    );

    let note = w
        .post(
            "/v1/notes",
            &w.maya,
            &[],
            json!({"customer_id": w.a_customer, "body": "Follow-up"}),
        )
        .await?;
    let (since, next) = w.feed(&w.maya, &cursor, 50).await?;
    ensure!(
        ids(&since) == [note.body["id"].as_str().unwrap_or_default()],
        "from the cursor: just the note"
    );
    ensure!(
        since[0]["op"] == "upsert" && since[0]["version"] == 1,
        "{since:?}"
    );
    ensure!(
        next.parse::<i64>()? > cursor.parse::<i64>()?,
        "the cursor moved past it"
    );
    let (nothing, same) = w.feed(&w.maya, &next, 50).await?;
    ensure!(
        nothing.is_empty() && same == next,
        "at the end the cursor stays put"
    );
    Ok(())
}

async fn stream_resume(w: &World) -> anyhow::Result<()> {
    let (_, start) = w.feed(&w.maya, "", 1000).await?;
    let mut events = Events::open(w, &w.maya, Some(&start)).await?;
    let mut written = Vec::new();
    for n in 0..3 {
        let note = w
            .post(
                "/v1/notes",
                &w.priya,
                &[],
                json!({"customer_id": w.a_customer, "body": format!("note {n}")}),
            )
            .await?;
        written.push(note.body["id"].as_str().context("an id")?.to_owned());
    }
    let mut last = String::new();
    for id in &written {
        let (event_id, change) = events.next().await?;
        ensure!(
            change["record"]["record"]["id"] == id.as_str(),
            "in order: {change}"
        );
        last = event_id;
    }
    drop(events);

    // Changes made while the desktop is away arrive when it comes back with its last id.
    let mut missed = Vec::new();
    for n in 0..2 {
        let note = w
            .post(
                "/v1/notes",
                &w.priya,
                &[],
                json!({"customer_id": w.a_customer, "body": format!("away {n}")}),
            )
            .await?;
        missed.push(note.body["id"].as_str().context("an id")?.to_owned());
    }
    let mut resumed = Events::open(w, &w.maya, Some(&last)).await?;
    for id in &missed {
        let (_, change) = resumed.next().await?;
        ensure!(
            change["record"]["record"]["id"] == id.as_str(),
            "the missed changes, in order: {change}"
        );
    }
    let live = w
        .post(
            "/v1/notes",
            &w.priya,
            &[],
            json!({"customer_id": w.a_customer, "body": "live again"}),
        )
        .await?;
    let (_, change) = resumed.next().await?;
    ensure!(
        change["record"]["record"]["id"] == live.body["id"],
        "then live ones: {change}"
    );

    let state = w
        .call(
            Method::PUT,
            &format!("/v1/agents/{}/state", w.maya_id),
            Some(&w.maya),
            &[],
            Some(json!({"state": "available"})),
        )
        .await?;
    ensure!(state.status == 200, "{state:?}");
    let (_, change) = resumed.next().await?;
    ensure!(
        change["record"]["kind"] == "agent" && change["record"]["record"]["state"] == "available",
        "agent state changes are events too: {change}"
    );
    Ok(())
}

async fn roles(w: &World) -> anyhow::Result<()> {
    async fn state(w: &World, token: &str, agent: &str, value: &str) -> anyhow::Result<Answer> {
        let path = format!("/v1/agents/{agent}/state");
        w.call(
            Method::PUT,
            &path,
            Some(token),
            &[],
            Some(json!({ "state": value })),
        )
        .await
    }
    let own = state(w, &w.maya, &w.maya_id, "break").await?;
    ensure!(
        own.status == 200 && own.body["state"] == "break",
        "an agent sets its own state: {own:?}"
    );
    let other = state(w, &w.maya, &w.tomas_id, "offline").await?;
    ensure!(
        other.status == 403 && other.body["code"] == "forbidden",
        "but not a colleague's: {other:?}"
    );
    let supervised = state(w, &w.priya, &w.tomas_id, "available").await?;
    ensure!(supervised.status == 200, "a supervisor may: {supervised:?}");

    let new_agent = json!({
        "display_name": "Nina New", "login": "nina@demo.example.com",
        "password": "a-long-enough-pass", "role": "agent"
    });
    let refused = w
        .post("/v1/agents", &w.priya, &[], new_agent.clone())
        .await?;
    ensure!(
        refused.status == 403,
        "supervisors do not add agents: {refused:?}"
    );
    let added = w.post("/v1/agents", &w.sam, &[], new_agent).await?;
    ensure!(added.status == 201, "admins do: {added:?}");
    let login = w
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            &[],
            Some(json!({"login": "nina@demo.example.com", "password": "a-long-enough-pass"})),
        )
        .await?;
    ensure!(
        login.status == 200,
        "and the new agent can sign in: {login:?}"
    );

    let note = w
        .post(
            "/v1/notes",
            &w.maya,
            &[],
            json!({"customer_id": w.a_customer, "body": "Maya's"}),
        )
        .await?;
    let id = note.body["id"].as_str().context("an id")?;
    let etag = note.etag.clone().context("an etag")?;
    let theirs = w
        .patch(
            &format!("/v1/notes/{id}"),
            &w.sam,
            &[("if-match", &etag)],
            json!({"body": "edited"}),
        )
        .await?;
    ensure!(
        theirs.status == 200,
        "an admin may edit anyone's note: {theirs:?}"
    );
    let etag = theirs.etag.clone().context("an etag")?;
    let tomas_token = {
        let answer = w
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                &[],
                Some(json!({"login": "tomas@demo.example.com", "password": DEMO_PASSWORD})),
            )
            .await?;
        answer.body["token"].as_str().context("a token")?.to_owned()
    };
    let colleague = w
        .patch(
            &format!("/v1/notes/{id}"),
            &tomas_token,
            &[("if-match", &etag)],
            json!({"body": "mine now"}),
        )
        .await?;
    ensure!(
        colleague.status == 403,
        "an agent may not edit a colleague's note: {colleague:?}"
    );
    Ok(())
}

async fn ticket_life(w: &World) -> anyhow::Result<()> {
    let created = w
        .post(
            "/v1/tickets",
            &w.maya,
            &[],
            json!({"id": "tkt_client-chosen-1", "customer_id": w.a_customer, "subject": "Refund",
                   "priority": "high", "comment": "Customer asked by phone"}),
        )
        .await?;
    ensure!(
        created.status == 201 && created.body["id"] == "tkt_client-chosen-1",
        "{created:?}"
    );
    ensure!(
        created.body["status"] == "new"
            && created.body["comments"][0]["author"]["id"] == w.maya_id.as_str(),
        "{created:?}"
    );

    let comment = w
        .post(
            "/v1/tickets/tkt_client-chosen-1/comments",
            &w.priya,
            &[],
            json!({"body": "Approved", "public": true}),
        )
        .await?;
    ensure!(
        comment.status == 200 && comment.body["comments"].as_array().map(Vec::len) == Some(2),
        "{comment:?}"
    );
    let etag = comment.etag.clone().context("an etag")?;
    let assigned = w
        .patch(
            "/v1/tickets/tkt_client-chosen-1",
            &w.maya,
            &[("if-match", &etag)],
            json!({"assignee": w.tomas_id, "status": "pending"}),
        )
        .await?;
    ensure!(
        assigned.status == 200 && assigned.body["assignee"] == w.tomas_id.as_str(),
        "{assigned:?}"
    );
    let etag = assigned.etag.clone().context("an etag")?;
    let unassigned = w
        .patch(
            "/v1/tickets/tkt_client-chosen-1",
            &w.maya,
            &[("if-match", &etag)],
            json!({"assignee": null}),
        )
        .await?;
    ensure!(
        unassigned.body["assignee"].is_null() && unassigned.body["status"] == "pending",
        "null unassigns, absent keeps: {unassigned:?}"
    );

    let message = w
        .post(
            "/v1/messages",
            &w.maya,
            &[],
            json!({"interaction_id": w.a_chat, "body": "Hello, I can help"}),
        )
        .await?;
    ensure!(
        message.status == 201 && message.body["author"]["id"] == w.maya_id.as_str(),
        "{message:?}"
    );
    let wrap = w
        .post(
            "/v1/wrap-ups",
            &w.maya,
            &[],
            json!({"interaction_id": w.a_chat, "disposition": "resolved", "handle_seconds": 240}),
        )
        .await?;
    ensure!(
        wrap.status == 201 && wrap.body["agent_id"] == w.maya_id.as_str(),
        "{wrap:?}"
    );
    let in_b = w
        .post(
            "/v1/messages",
            &w.bob,
            &[],
            json!({"interaction_id": w.b_chat, "body": "Hi from B"}),
        )
        .await?;
    ensure!(in_b.status == 201, "B chats in its own chat: {in_b:?}");
    Ok(())
}

async fn call_log(w: &World) -> anyhow::Result<()> {
    let started = json!({"conversation_id": "cnv_desk-1", "customer_id": w.a_customer,
        "direction": "inbound", "remote_number": w.a_phone,
        "started_at": "2026-12-04T10:00:00Z", "answered_at": "2026-12-04T10:00:05Z",
        "ended_at": null});
    let key = [("idempotency-key", "op-call-1")];
    let logged = w
        .put("/v1/calls/int_desk-1", &w.maya, &key, started.clone())
        .await?;
    ensure!(
        logged.status == 201
            && logged.body["state"] == "active"
            && logged.body["channel"] == "call"
            && logged.body["agent_id"] == w.maya_id.as_str(),
        "an answered call is logged as the agent's active call: {logged:?}"
    );
    let again = w
        .put("/v1/calls/int_desk-1", &w.maya, &key, started.clone())
        .await?;
    ensure!(
        again.replayed && again.body == logged.body,
        "a retry gets the first answer: {again:?}"
    );
    let conversation = w.get("/v1/records/cnv_desk-1", &w.maya).await?;
    ensure!(
        conversation.status == 200
            && conversation.body["record"]["customer_id"] == w.a_customer.as_str(),
        "a new conversation is made for the call: {conversation:?}"
    );

    let mut ended = started.clone();
    ended["ended_at"] = json!("2026-12-04T10:04:05Z");
    let taken = w
        .put("/v1/calls/int_desk-1", &w.priya, &[], ended.clone())
        .await?;
    ensure!(
        taken.status == 403,
        "another agent's desk cannot rewrite the call: {taken:?}"
    );
    let finished = w
        .put("/v1/calls/int_desk-1", &w.maya, &[], ended.clone())
        .await?;
    ensure!(
        finished.status == 200
            && finished.body["state"] == "ended"
            && finished.body["ended_at"] == "2026-12-04T10:04:05Z",
        "the end is logged: {finished:?}"
    );
    let reopened = w
        .put("/v1/calls/int_desk-1", &w.maya, &[], started.clone())
        .await?;
    ensure!(
        reopened.body["state"] == "ended",
        "a log without the end does not reopen an ended call: {reopened:?}"
    );

    let wrap = w
        .post(
            "/v1/wrap-ups",
            &w.maya,
            &[],
            json!({"interaction_id": "int_desk-1", "disposition": "resolved", "handle_seconds": 250}),
        )
        .await?;
    ensure!(
        wrap.status == 201,
        "the logged call can be wrapped up: {wrap:?}"
    );

    let mut elsewhere = started.clone();
    elsewhere["conversation_id"] = json!("cnv_desk-1");
    elsewhere["customer_id"] = json!(w.b_customer);
    let foreign = w
        .put("/v1/calls/int_desk-2", &w.maya, &[], elsewhere)
        .await?;
    ensure!(
        foreign.status == 422,
        "another tenant's customer is not found: {foreign:?}"
    );
    let mut backwards = started.clone();
    backwards["answered_at"] = json!("2026-12-04T09:00:00Z");
    let refused = w
        .put("/v1/calls/int_desk-3", &w.maya, &[], backwards)
        .await?;
    ensure!(
        refused.status == 400
            && refused.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("answered_at")),
        "an answer before the start is refused, naming the field: {refused:?}"
    );
    let bad_id = w.put("/v1/calls/tkt_1", &w.maya, &[], started).await?;
    ensure!(
        bad_id.status == 400,
        "a call's id is an interaction id: {bad_id:?}"
    );
    Ok(())
}

/// Runs every scenario against hubs made by `fresh`, and fails listing every scenario that
/// failed, not just the first.
async fn run_all<F, Fut>(backend: &str, mut fresh: F)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Database>>,
{
    let mut failures = Vec::new();
    for (index, (name, scenario)) in SCENARIOS.iter().enumerate() {
        let outcome = async {
            let db = fresh(index).await?;
            let served = Served::start(db.clone(), 512).await?;
            let world = build_world(db.clone(), served.url.clone()).await?;
            let result = scenario(&world).await;
            served.stop().await;
            db.close().await;
            result
        }
        .await;
        if let Err(error) = outcome {
            failures.push(format!("{name} on {backend}: {error:#}"));
        }
    }
    assert!(
        failures.is_empty(),
        "scenarios failed:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_on_sqlite() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    run_all("sqlite", |index| {
        let dir = folder.path().join(format!("hub-{index}"));
        async move {
            std::fs::create_dir_all(&dir)?;
            Ok(Database::open_folder(&dir).await?)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_on_postgres() {
    let server =
        switchboard_tests::postgres::Postgres::start().expect("a private PostgreSQL starts");
    run_all("postgres", |index| {
        let url = server.create_database(&format!("scenario_{index}"));
        async move { Ok(Database::open(&url?).await?) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_postgres_share_writes_and_live_events() {
    let server =
        switchboard_tests::postgres::Postgres::start().expect("a private PostgreSQL starts");
    let url = server.create_database("shared").expect("a database");
    let first_db = Database::open(&url).await.expect("the first hub opens it");
    let second_db = Database::open(&url)
        .await
        .expect("the second hub opens it too");
    let first = Served::start(first_db.clone(), 512)
        .await
        .expect("first hub");
    let second = Served::start(second_db.clone(), 512)
        .await
        .expect("second hub");

    let world_one = build_world(first_db.clone(), first.url.clone())
        .await
        .expect("a world");
    let mut events = Events::open(&world_one, &world_one.maya, None)
        .await
        .expect("a stream on the first hub");

    // The same token works on the other instance: sessions live in the shared database.
    let world_two = World {
        hub: second.url.clone(),
        ..world_one
    };
    let note = world_two
        .post(
            "/v1/notes",
            &world_two.maya,
            &[],
            json!({"customer_id": world_two.a_customer, "body": "via hub two"}),
        )
        .await
        .expect("a write on the second hub");
    assert_eq!(note.status, 201, "the second hub takes the write: {note:?}");
    let (_, change) = events
        .next()
        .await
        .expect("the event reaches the first hub's stream");
    assert_eq!(
        change["record"]["record"]["id"], note.body["id"],
        "a stream on one instance sees writes made on another"
    );

    first.stop().await;
    second.stop().await;
    first_db.close().await;
    second_db.close().await;
}

#[tokio::test]
async fn a_hub_at_capacity_answers_429_with_retry_after() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let db = Database::open_folder(folder.path())
        .await
        .expect("a database");
    let served = Served::start(db.clone(), 0)
        .await
        .expect("a hub with no free slot");
    let response = reqwest::get(format!("{}/v1/health", served.url))
        .await
        .expect("the hub answers");
    assert_eq!(
        response.status(),
        429,
        "no slot: refused at once, not queued"
    );
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1"),
        "and told when to come back"
    );
    served.stop().await;
    db.close().await;
}
