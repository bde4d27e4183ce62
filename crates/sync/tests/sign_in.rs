//! A hub that stops accepting the desk's token: writes wait, untouched, until the agent signs
//! in again, and the status says why. The hub here answers from a script, so that the test
//! decides each answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use switchboard_client::{ClientError, WriteAnswer, WriteRequest};
use switchboard_model::{AgentId, ChangePage, Cursor, CustomerId, NewNote};
use switchboard_store::{Action, Actor, OpState, Store};
use switchboard_sync::{Events, Hub, SyncConfig, SyncEngine, SystemClock};

/// A hub whose answers to writes are given in advance; it records the keys it was sent.
#[derive(Debug, Clone, Default)]
struct ScriptedHub {
    answers: Arc<Mutex<VecDeque<WriteAnswer>>>,
    keys: Arc<Mutex<Vec<String>>>,
}

#[derive(Debug)]
struct Silent;

impl Events for Silent {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        Ok(None)
    }
}

impl Hub for ScriptedHub {
    type Events = Silent;

    async fn changes(
        &self,
        after: Option<&Cursor>,
        _limit: u32,
        _count: bool,
    ) -> Result<ChangePage, ClientError> {
        Ok(ChangePage {
            changes: Vec::new(),
            cursor: after.cloned().unwrap_or(Cursor("0".to_owned())),
            has_more: false,
            remaining: None,
        })
    }

    async fn write(&self, write: &WriteRequest<'_>) -> Result<WriteAnswer, ClientError> {
        self.keys
            .lock()
            .expect("the keys lock")
            .push(write.idempotency_key.to_owned());
        Ok(self
            .answers
            .lock()
            .expect("the answers lock")
            .pop_front()
            .expect("the script has an answer for every write"))
    }

    async fn events(&self, _after: Option<&Cursor>) -> Result<Silent, ClientError> {
        Ok(Silent)
    }
}

#[tokio::test]
async fn writes_wait_for_a_new_login_and_then_go_with_the_same_key() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let store = Arc::new(Store::open(&folder.path().join("cache.db"), None).expect("the cache"));
    let acted = store
        .act(
            Action::AddNote(NewNote {
                id: None,
                customer_id: CustomerId::from_number(1),
                interaction_id: None,
                body: "Call back after six".to_owned(),
            }),
            &Actor {
                agent: AgentId::from_number(1),
                now: "2026-12-04T10:00:00Z".to_owned(),
            },
        )
        .expect("the note is queued");
    let note_id = acted.record.id().to_owned();

    let hub = ScriptedHub::default();
    hub.answers
        .lock()
        .expect("the answers lock")
        .push_back(WriteAnswer {
            status: 401,
            version: None,
            retry_after: None,
            body: r#"{"code":"unauthenticated","message":"sign in again"}"#.to_owned(),
        });
    let engine = SyncEngine::new(
        Arc::clone(&store),
        hub.clone(),
        SyncConfig::default(),
        Arc::new(SystemClock),
    );
    let status = engine.status();

    let pushed = engine.push().await.expect("a push round");
    assert_eq!(pushed.settled, 0, "a refused token settles nothing");
    assert!(
        status.borrow().needs_sign_in,
        "the window is told to ask for a login"
    );
    assert_eq!(
        store.op_state(&acted.op_id).expect("a read"),
        Some(OpState::Pending),
        "the write waits, neither parked nor dropped"
    );
    let again = engine.push().await.expect("a push round");
    assert_eq!(again.sent, 0, "nothing is sent while the login is missing");

    // The agent signs in again; the hub now takes the note.
    hub.answers
        .lock()
        .expect("the answers lock")
        .push_back(WriteAnswer {
            status: 201,
            version: Some(1),
            retry_after: None,
            body: serde_json::json!({
                "id": note_id,
                "customer_id": CustomerId::from_number(1),
                "interaction_id": null,
                "author": AgentId::from_number(1),
                "body": "Call back after six",
                "created_at": "2026-12-04T10:00:01Z",
                "updated_at": "2026-12-04T10:00:01Z",
                "version": 1
            })
            .to_string(),
        });
    engine.signed_in();
    assert!(
        !status.borrow().needs_sign_in,
        "the request for a login is withdrawn"
    );
    let pushed = engine.push().await.expect("a push round");
    assert_eq!(pushed.settled, 1, "the note went once the agent was back");
    assert_eq!(
        store.op_state(&acted.op_id).expect("a read"),
        Some(OpState::Accepted),
        "the hub has the note"
    );
    let keys = hub.keys.lock().expect("the keys lock").clone();
    assert_eq!(
        keys,
        vec![acted.op_id.clone(), acted.op_id.clone()],
        "both attempts carried the operation id as their Idempotency-Key"
    );
}
