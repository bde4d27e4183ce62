//! A demo hub lives: simulated customers get in touch through routing like real ones, and a
//! simulated chat answers when the agent writes.

use std::time::Duration;

use switchboard_hub::db::Database;
use switchboard_hub::db::records::Expect;
use switchboard_hub::demo::life::{Life, Pace};
use switchboard_hub::{DEMO_LOGIN, DEMO_PASSWORD, demo_tenant, now_unix, routing, seed_demo};
use switchboard_model::{
    AgentState, Author, Channel, Message, MessageId, OfferState, Record, RecordKind,
};

/// Polls until `probe` yields, at most 60 s: the simulation's own delays are a few seconds.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_customers_get_in_touch_and_answer_the_agent() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let db = Database::open_folder(data.path())
        .await
        .expect("a database");
    seed_demo(&db, 3, 40).await.expect("a demo world");
    let tenant = demo_tenant();
    let _state = switchboard_hub::HubState::new(db.clone(), true, 64);

    let session = db
        .sign_in(DEMO_LOGIN, DEMO_PASSWORD, now_unix(), 3600)
        .await
        .expect("the demo login")
        .expect("is accepted")
        .session;
    let agent = session.agent.clone();
    let stored = db
        .record(&tenant, agent.as_str())
        .await
        .expect("read")
        .expect("the agent");
    let Record::Agent(mut me) = stored.record else {
        panic!("an agent record");
    };
    me.state = AgentState::Available;
    me.capacity.chats = 3;
    db.write::<()>(
        &tenant,
        agent.as_str(),
        None,
        Expect::Version(stored.version),
        |_| Ok(Record::Agent(me)),
    )
    .await
    .expect("the agent becomes available");

    Life::start(
        db.clone(),
        tenant.clone(),
        Pace {
            contact_every: Duration::from_secs(1),
            parcel_every: Duration::from_secs(1),
            cart_every: Duration::from_secs(1),
        },
    )
    .await
    .expect("the simulation starts");

    // Chats and calls arrive and are offered; take chats until one is a chat.
    let chat = eventually("a simulated chat offered to the agent", || async {
        let offers = db
            .records_in_state(&tenant, RecordKind::Offer, &[OfferState::Pending.as_str()])
            .await
            .ok()?;
        for stored in offers {
            let Record::Offer(offer) = stored.record else {
                continue;
            };
            if offer.agent_id != agent {
                continue;
            }
            if offer.channel == Channel::Chat {
                return routing::accept(&db, &tenant, offer.id.as_str(), &agent)
                    .await
                    .ok();
            }
            let _ = routing::decline(&db, &tenant, offer.id.as_str(), &agent).await;
        }
        None
    })
    .await;

    let opening = db
        .changes(&tenant, 0, 100_000)
        .await
        .expect("the feed")
        .changes
        .into_iter()
        .find_map(|change| match change {
            switchboard_model::Change::Upsert { record, .. } => match *record {
                Record::Message(message) if message.interaction_id == chat.id => Some(message),
                _ => None,
            },
            _ => None,
        })
        .expect("a simulated chat opens with a message");
    assert!(
        matches!(opening.author, Author::Customer(_)) && opening.body.len() > 10,
        "a customer's plausible first line: {:?}",
        opening.body
    );
    assert!(
        !opening.body.contains('{'),
        "every placeholder is filled: {:?}",
        opening.body
    );

    let cursor = db.last_seq(&tenant).await.expect("the feed's end");
    let reply = Message {
        id: MessageId::from_number(rand::random()),
        interaction_id: chat.id.clone(),
        conversation_id: chat.conversation_id.clone(),
        author: Author::Agent(agent.clone()),
        body: "Hello, let me check that for you.".to_owned(),
        sent_at: switchboard_hub::now_rfc3339(),
    };
    db.put_records(&tenant, &[Record::Message(reply)])
        .await
        .expect("the agent writes");

    let answer = eventually("the simulated customer's answer", || async {
        let page = db.changes(&tenant, cursor, 1000).await.ok()?;
        page.changes.into_iter().find_map(|change| match change {
            switchboard_model::Change::Upsert { record, .. } => match *record {
                Record::Message(message)
                    if message.interaction_id == chat.id
                        && matches!(message.author, Author::Customer(_)) =>
                {
                    Some(message)
                }
                _ => None,
            },
            _ => None,
        })
    })
    .await;
    assert_ne!(
        answer.body, opening.body,
        "the customer says something new: {:?}",
        answer.body
    );
    db.close().await;
}
