//! The cache on a real SQLite file: screen-pop lookups that never pick one of several
//! customers, type-ahead, and the outbox's promises (a pulled change never overwrites an
//! unsent one, a conflict keeps both versions, a page applied twice changes nothing).

use switchboard_model::{
    AgentId, CallLog, Change, ConversationId, Cursor, CustomerId, Direction, IdentityKind,
    InteractionId, InteractionState, Priority, Record, TicketChange, TicketId,
};
use switchboard_store::feed::Origin;
use switchboard_store::{Action, Actor, OpState, Outcome, Region, Store};

fn customer(id: u64, name: &str, phone: &str, email: &str) -> Record {
    serde_json::from_value(serde_json::json!({
        "kind": "customer",
        "record": {
            "id": CustomerId::from_number(id),
            "display_name": name,
            "company": null,
            "language": "en-GB",
            "city": "Leeds",
            "country": "GB",
            "tier": "standard",
            "created_at": "2026-01-01T09:00:00Z",
            "updated_at": "2026-01-01T09:00:00Z",
            "identities": [
                {"kind": "phone", "value": phone, "label": "mobile", "primary": true},
                {"kind": "email", "value": email, "label": null, "primary": true}
            ]
        }
    }))
    .expect("a customer record")
}

fn ticket(id: u64, customer: u64, subject: &str, version: u64) -> Record {
    serde_json::from_value(serde_json::json!({
        "kind": "ticket",
        "record": {
            "id": TicketId::from_number(id),
            "customer_id": CustomerId::from_number(customer),
            "subject": subject,
            "status": "open",
            "priority": "normal",
            "assignee": null,
            "comments": [],
            "created_at": "2026-11-30T09:00:00Z",
            "updated_at": "2026-11-30T09:00:00Z",
            "version": version
        }
    }))
    .expect("a ticket record")
}

fn upsert(seq: u64, version: u64, record: Record) -> Change {
    Change::Upsert {
        cursor: Cursor(seq.to_string()),
        version,
        record: Box::new(record),
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let store =
        Store::open(&folder.path().join("cache.db"), Region::parse("GB")).expect("the cache opens");
    store
        .bind(&Origin {
            hub: "http://hub.test".to_owned(),
            tenant: "ten_1".to_owned(),
        })
        .expect("the cache binds to its hub");
    (folder, store)
}

fn actor() -> Actor {
    Actor {
        agent: AgentId::from_number(1),
        now: "2026-12-04T10:00:00Z".to_owned(),
    }
}

#[test]
fn a_shared_number_returns_every_customer_and_national_forms_find_them() {
    let (_folder, store) = open();
    let page = vec![
        upsert(
            1,
            1,
            customer(1, "Ana Souza", "+447700900123", "ana@example.com"),
        ),
        upsert(
            2,
            1,
            customer(2, "Ben Souza", "+447700900123", "ben@example.com"),
        ),
        upsert(
            3,
            1,
            customer(3, "Carla Reyes", "+447700900456", "carla@example.com"),
        ),
    ];
    store
        .apply_page(&page, &Cursor("3".to_owned()))
        .expect("the page applies");

    let shared = store
        .lookup(IdentityKind::Phone, "07700 900123")
        .expect("a national number is read in the desk's region");
    let names: Vec<&str> = shared
        .candidates
        .iter()
        .map(|candidate| candidate.display_name.as_str())
        .collect();
    assert_eq!(
        names,
        ["Ana Souza", "Ben Souza"],
        "both people on the number are offered, none is picked"
    );

    let one = store
        .lookup(IdentityKind::Email, " Carla@Example.COM ")
        .expect("an e-mail lookup");
    assert_eq!(
        one.candidates.len(),
        1,
        "an e-mail is matched whatever its case"
    );

    let typed = store.search("sou", 10).expect("type-ahead");
    assert_eq!(typed.len(), 2, "a prefix of a surname finds both Souzas");
    let by_digits = store
        .search("07700 900 4", 10)
        .expect("type-ahead by number");
    assert_eq!(
        by_digits.first().map(|hit| hit.title.as_str()),
        Some("Carla Reyes"),
        "a number typed the national way finds its customer"
    );
}

#[test]
fn a_pulled_change_is_laid_under_an_unsent_edit_and_a_conflict_keeps_both() {
    let (_folder, store) = open();
    let ticket_id = TicketId::from_number(9).as_str().to_owned();
    store
        .apply_page(
            &[
                upsert(
                    1,
                    1,
                    customer(1, "Ana Souza", "+447700900123", "ana@example.com"),
                ),
                upsert(2, 3, ticket(9, 1, "Parcel late", 3)),
            ],
            &Cursor("2".to_owned()),
        )
        .expect("the first page applies");

    // The agent raises the priority while offline.
    let acted = store
        .act(
            Action::ChangeTicket {
                id: TicketId::from_number(9),
                change: TicketChange {
                    subject: None,
                    status: None,
                    priority: Some(Priority::Urgent),
                    assignee: None,
                },
            },
            &actor(),
        )
        .expect("the edit is queued");

    // Another agent renames the ticket at the hub; the pull brings it in.
    let applied = store
        .apply_page(
            &[upsert(
                3,
                4,
                ticket(9, 1, "Parcel late: courier says delivered", 4),
            )],
            &Cursor("3".to_owned()),
        )
        .expect("the second page applies");
    assert_eq!(applied.rebased, 1, "the change became the edit's new base");
    let Some((Record::Ticket(shown), _)) = store.record(&ticket_id).expect("a read") else {
        panic!("the ticket is cached");
    };
    assert_eq!(
        (shown.subject.as_str(), shown.priority),
        ("Parcel late: courier says delivered", Priority::Urgent),
        "the window shows the hub's subject with the agent's unsent priority over it"
    );

    // The same page again changes nothing, and the cursor does not go back.
    let again = store
        .apply_page(
            &[upsert(2, 3, ticket(9, 1, "Parcel late", 3))],
            &Cursor("2".to_owned()),
        )
        .expect("a stale page applies");
    assert_eq!(
        (again.applied, again.rebased, again.cursor),
        (0, 0, 3),
        "an older page is skipped and the cursor stays"
    );

    // The hub refuses the edit as stale: a conflict, with both versions kept.
    let ready = store.ready(i64::MAX, 10).expect("the ready rows");
    assert_eq!(ready.len(), 1, "the edit is ready to send");
    assert_eq!(
        ready[0].if_match,
        Some(3),
        "the edit is sent on the version the agent saw"
    );
    store
        .finish(
            &acted.op_id,
            Outcome::Conflict {
                version: 4,
                theirs: ticket(9, 1, "Parcel late: courier says delivered", 4),
                message: "the record changed since you read it".to_owned(),
            },
        )
        .expect("the conflict is recorded");
    let conflicts = store.entries(&[OpState::Conflict]).expect("the conflicts");
    assert_eq!(conflicts.len(), 1, "the row waits for the agent");
    assert_eq!(
        conflicts[0].theirs_version,
        Some(4),
        "the hub's version is kept to show beside the agent's"
    );

    // The agent keeps theirs: it goes again on the hub's version.
    store.keep_mine(&acted.op_id).expect("keep mine");
    let ready = store.ready(i64::MAX, 10).expect("the ready rows");
    assert_eq!(
        ready[0].if_match,
        Some(4),
        "kept edits are sent on the version the hub holds"
    );
    store
        .finish(
            &acted.op_id,
            Outcome::Accepted {
                version: 5,
                record: ticket(9, 1, "Parcel late: courier says delivered", 5),
            },
        )
        .expect("the acceptance is recorded");
    assert_eq!(
        store.outbox().expect("the summary").pending,
        0,
        "nothing is left to send"
    );
    let (_, version) = store
        .record(&ticket_id)
        .expect("a read")
        .expect("the ticket is cached");
    assert_eq!(version, 5, "the cache holds the hub's accepted version");
}

#[test]
fn a_write_refused_by_the_hub_is_parked_and_never_dropped() {
    let (_folder, store) = open();
    store
        .apply_page(
            &[upsert(
                1,
                1,
                customer(1, "Ana Souza", "+447700900123", "ana@example.com"),
            )],
            &Cursor("1".to_owned()),
        )
        .expect("the page applies");
    let acted = store
        .act(
            Action::AddNote(switchboard_model::NewNote {
                id: None,
                customer_id: CustomerId::from_number(1),
                interaction_id: None,
                body: "Wants a refund".to_owned(),
            }),
            &actor(),
        )
        .expect("the note is queued");
    store
        .finish(
            &acted.op_id,
            Outcome::Parked {
                status: 422,
                message: "customer_id: does not exist on this hub".to_owned(),
            },
        )
        .expect("the refusal is recorded");

    let parked = store.entries(&[OpState::Parked]).expect("the parked rows");
    assert_eq!(
        parked[0].last_error.as_deref(),
        Some("customer_id: does not exist on this hub"),
        "the hub's message is kept for the agent"
    );
    assert!(
        store
            .ready(i64::MAX, 10)
            .expect("the ready rows")
            .is_empty(),
        "a parked row is not sent again by itself"
    );
    store.retry_parked(&acted.op_id).expect("the agent retries");
    assert_eq!(
        store.ready(i64::MAX, 10).expect("the ready rows").len(),
        1,
        "a retried row goes again"
    );
    assert!(store.integrity_check().expect("the check runs"));
}

#[test]
fn a_first_fill_leaves_the_pane_for_later_survives_a_restart_and_ends_with_every_index() {
    let (folder, store) = open();
    assert!(
        store.begin_fill().expect("a fill can start"),
        "an empty cache starts its first fill"
    );
    store
        .apply_page(
            &[
                upsert(
                    1,
                    1,
                    customer(1, "Priya Shah", "+447700900123", "priya@example.com"),
                ),
                upsert(2, 1, ticket(1, 1, "Refund for a broken kettle", 1)),
            ],
            &Cursor("2".to_owned()),
        )
        .expect("a page applies during the fill");

    let lookup = store
        .lookup(IdentityKind::Phone, "07700 900123")
        .expect("a screen pop works during the fill");
    assert_eq!(
        lookup.candidates.len(),
        1,
        "the identity index is kept during the fill, so a caller is found at once"
    );
    assert_eq!(
        store
            .search("kett", 10)
            .expect("search works during the fill")
            .len(),
        1,
        "the search index is kept during the fill"
    );
    let refused = store.customer_file(&CustomerId::from_number(1));
    assert!(
        matches!(refused, Err(switchboard_store::StoreError::Filling)),
        "without its indexes the pane would scan every record, so it must say the cache is \
         filling instead: {refused:?}"
    );

    // The desk closes half-way; the fill goes on where it stopped.
    let path = store.path().to_owned();
    drop(store);
    let store = Store::open(&path, Region::parse("GB")).expect("the cache opens again");
    assert!(
        store.is_filling(),
        "an unfinished fill is remembered across a restart"
    );
    assert!(
        store.begin_fill().expect("the fill resumes"),
        "a resumed fill still counts as the initial sync, so that it ends with the indexes"
    );
    store
        .apply_page(
            &[upsert(
                3,
                2,
                ticket(1, 1, "Refund for a broken kettle, sent", 2),
            )],
            &Cursor("3".to_owned()),
        )
        .expect("a page applies after the restart");
    store.finish_fill().expect("the fill finishes");

    assert!(!store.is_filling(), "a finished fill is over");
    let file = store
        .customer_file(&CustomerId::from_number(1))
        .expect("the pane is served once the fill is over")
        .expect("the customer is in the cache");
    assert_eq!(
        file.tickets.len(),
        1,
        "the index built at the end finds what was applied before and after the restart"
    );
    assert!(
        !store.begin_fill().expect("asking again is harmless"),
        "a cache with a cursor and no fill running is not filled again"
    );
    assert!(
        store.integrity_check().expect("the check runs"),
        "the file is sound"
    );
    drop(folder);
}

#[test]
fn a_screen_pop_reads_the_identity_index_alone_and_older_rows_still_pop() {
    let (_folder, store) = open();
    store
        .apply_page(
            &[
                upsert(
                    1,
                    1,
                    customer(1, "Priya Shah", "+447700900123", "priya@example.com"),
                ),
                upsert(
                    2,
                    1,
                    customer(2, "Tom Shah", "+447700900124", "tom@example.com"),
                ),
            ],
            &Cursor("2".to_owned()),
        )
        .expect("the page applies");
    assert_eq!(
        store.warm_screen_pops().expect("the index is read"),
        4,
        "two customers with a phone number and an e-mail address each"
    );

    // A row written before identities carried the summary (schema 3) pops from the record.
    let raw = rusqlite::Connection::open(store.path()).expect("the file opens");
    raw.execute(
        "UPDATE identities SET summary = NULL WHERE customer_id = ?1",
        [CustomerId::from_number(2).as_str()],
    )
    .expect("the summary is cleared");
    for (number, name) in [
        ("+447700900123", "Priya Shah"),
        ("+447700900124", "Tom Shah"),
    ] {
        let lookup = store
            .lookup(IdentityKind::Phone, number)
            .expect("the lookup runs");
        assert_eq!(
            lookup
                .candidates
                .iter()
                .map(|candidate| candidate.display_name.as_str())
                .collect::<Vec<_>>(),
            vec![name],
            "{number} pops its customer, with or without a stored summary"
        );
    }
}

#[test]
fn a_logged_call_shows_at_once_and_its_note_and_wrap_up_wait_for_it_at_the_hub() {
    let (_folder, store) = open();
    store
        .apply_page(
            &[upsert(
                1,
                1,
                customer(1, "Ana Souza", "+447700900123", "ana@example.com"),
            )],
            &Cursor("1".to_owned()),
        )
        .expect("the page applies");
    let call = InteractionId("int_desk-1".to_owned());
    let log = CallLog {
        conversation_id: ConversationId("cnv_desk-1".to_owned()),
        customer_id: CustomerId::from_number(1),
        direction: Direction::Inbound,
        remote_number: Some("+447700900123".to_owned()),
        started_at: "2026-12-04T10:00:00Z".to_owned(),
        answered_at: Some("2026-12-04T10:00:04Z".to_owned()),
        ended_at: None,
    };
    let logged = store
        .act(
            Action::LogCall {
                id: call.clone(),
                call: log.clone(),
            },
            &actor(),
        )
        .expect("the call is logged");
    let note = store
        .act(
            Action::AddNote(switchboard_model::NewNote {
                id: None,
                customer_id: CustomerId::from_number(1),
                interaction_id: Some(call.clone()),
                body: "Parcel went to a neighbour".to_owned(),
            }),
            &actor(),
        )
        .expect("a note during the call is queued");
    let ended = store
        .act(
            Action::LogCall {
                id: call.clone(),
                call: CallLog {
                    ended_at: Some("2026-12-04T10:03:00Z".to_owned()),
                    ..log
                },
            },
            &actor(),
        )
        .expect("the end is logged");
    let wrap_up = store
        .act(
            Action::WrapUp(switchboard_model::NewWrapUp {
                id: None,
                interaction_id: call.clone(),
                disposition: "resolved".to_owned(),
                notes: None,
                handle_seconds: 200,
            }),
            &actor(),
        )
        .expect("the wrap-up is queued");

    let file = store
        .customer_file(&CustomerId::from_number(1))
        .expect("the pane reads")
        .expect("the customer is cached");
    assert_eq!(
        file.interactions.first().map(|i| i.state),
        Some(InteractionState::Ended),
        "the call shows in the timeline, ended, before the hub has heard of it"
    );
    assert!(
        file.unsent.contains(&call.to_string()),
        "and is marked as not yet at the hub"
    );

    let ops = |store: &Store| -> Vec<String> {
        store
            .ready(i64::MAX, 10)
            .expect("the ready rows")
            .into_iter()
            .map(|op| op.op_id)
            .collect()
    };
    assert_eq!(
        ops(&store),
        vec![logged.op_id.clone()],
        "the note and the wrap-up name a call the hub does not have yet, so only the call goes"
    );
    let accepted = |record: Record| Outcome::Accepted { version: 1, record };
    store
        .finish(&logged.op_id, accepted(logged.record.clone()))
        .expect("the hub has the call");
    assert_eq!(
        ops(&store),
        vec![note.op_id.clone(), ended.op_id.clone()],
        "then the note and the call's end, which do not wait for each other; the wrap-up was \
         made after the end, so it waits for it"
    );
    store
        .finish(&ended.op_id, accepted(ended.record.clone()))
        .expect("the hub has the end");
    assert_eq!(
        ops(&store),
        vec![note.op_id, wrap_up.op_id],
        "and now the wrap-up goes too"
    );
}

fn offer(id: u64, interaction: &str, agent: u64, state: &str) -> Record {
    serde_json::from_value(serde_json::json!({
        "kind": "offer",
        "record": {
            "id": format!("ofr_{id}"),
            "interaction_id": interaction,
            "customer_id": CustomerId::from_number(1),
            "queue_id": "que_1",
            "channel": "chat",
            "agent_id": AgentId::from_number(agent),
            "state": state,
            "offered_at": format!("2026-12-04T10:00:0{id}Z"),
            "expires_at": "2026-12-04T10:01:00Z",
            "version": 1
        }
    }))
    .expect("an offer record")
}

fn chat(id: &str, agent: Option<u64>, state: &str) -> Record {
    serde_json::from_value(serde_json::json!({
        "kind": "interaction",
        "record": {
            "id": id,
            "conversation_id": "cnv_1",
            "customer_id": CustomerId::from_number(1),
            "channel": "chat",
            "direction": "inbound",
            "state": state,
            "queue_id": "que_1",
            "agent_id": agent.map(AgentId::from_number),
            "remote_number": null,
            "started_at": "2026-12-04T10:00:00Z",
            "answered_at": null,
            "ended_at": null,
            "version": 1
        }
    }))
    .expect("an interaction record")
}

fn message(id: &str, at: &str, body: &str) -> Record {
    serde_json::from_value(serde_json::json!({
        "kind": "message",
        "record": {
            "id": id,
            "interaction_id": "int_1",
            "conversation_id": "cnv_1",
            "author": {"kind": "customer", "id": CustomerId::from_number(1)},
            "body": body,
            "sent_at": at
        }
    }))
    .expect("a message record")
}

#[test]
fn an_agents_open_work_follows_offers_and_chats_and_a_thread_reads_in_order() {
    let (_folder, store) = open();
    let me = AgentId::from_number(1).to_string();
    store
        .apply_page(
            &[
                upsert(1, 1, offer(1, "int_1", 1, "pending")),
                upsert(2, 1, offer(2, "int_2", 2, "pending")),
                upsert(3, 1, chat("int_1", None, "offered")),
                upsert(4, 1, message("msg_2", "2026-12-04T10:00:09Z", "second")),
                upsert(5, 1, message("msg_1", "2026-12-04T10:00:05Z", "first")),
            ],
            &Cursor("5".to_owned()),
        )
        .expect("the page applies");
    let work = store.open_work(&me).expect("the work list reads");
    assert_eq!(
        work.offers
            .iter()
            .map(|o| o.id.as_str())
            .collect::<Vec<_>>(),
        vec!["ofr_1"],
        "only the offer to this agent, not another agent's"
    );
    assert!(
        work.interactions.is_empty(),
        "an offered chat is nobody's yet"
    );

    store
        .apply_page(
            &[
                upsert(6, 2, offer(1, "int_1", 1, "accepted")),
                upsert(7, 2, chat("int_1", Some(1), "active")),
            ],
            &Cursor("7".to_owned()),
        )
        .expect("the acceptance applies");
    let work = store.open_work(&me).expect("the work list reads");
    assert!(work.offers.is_empty(), "an accepted offer waits no more");
    assert_eq!(
        work.interactions
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        vec!["int_1"],
        "the chat is the agent's now"
    );
    let thread: Vec<String> = store
        .thread("cnv_1")
        .expect("the thread reads")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        thread,
        vec!["first", "second"],
        "a thread reads oldest first"
    );

    store
        .apply_page(
            &[upsert(8, 3, chat("int_1", Some(1), "ended"))],
            &Cursor("8".to_owned()),
        )
        .expect("the end applies");
    assert_eq!(
        store.open_work(&me).expect("the work list reads"),
        switchboard_store::OpenWork::default(),
        "an ended chat leaves the work list"
    );
}

#[test]
fn a_wrap_up_counts_once_in_its_agents_day() {
    let (_folder, store) = open();
    let wrap_up = |version: u64| -> Record {
        serde_json::from_value(serde_json::json!({
            "kind": "wrap_up",
            "record": {
                "id": "wrp_1",
                "interaction_id": "int_1",
                "agent_id": AgentId::from_number(1),
                "disposition": "resolved",
                "notes": null,
                "handle_seconds": 240,
                "created_at": "2026-12-04T10:00:00Z",
                "version": version
            }
        }))
        .expect("a wrap-up record")
    };
    let me = AgentId::from_number(1).to_string();
    store
        .apply_page(&[upsert(1, 1, wrap_up(1))], &Cursor("1".to_owned()))
        .expect("the page applies");
    store
        .apply_page(&[upsert(2, 2, wrap_up(2))], &Cursor("2".to_owned()))
        .expect("a newer version applies");
    let day = store.agent_day(&me, "2026-12-04").expect("the day reads");
    assert_eq!(
        (day.handled, day.handle_seconds),
        (1, 240),
        "a wrap-up changed later still counts once"
    );
    assert_eq!(
        store
            .agent_day(&me, "2026-12-05")
            .expect("the day reads")
            .handled,
        0,
        "and only on its own day"
    );
}
