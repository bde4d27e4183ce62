//! The desk's phone end to end on loopback: another phone calls the desk, and the board the
//! window shows follows the call through ringing, answer, mute and the caller hanging up; the
//! call is logged when answered and when ended, and waits on the board for its wrap-up.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_engine::calls::{
    CallBoard, CallJournal, CallMoment, CallStage, CallView, DeskPhone, PhoneLine,
};
use switchboard_model::{CustomerId, CustomerSummary};
use switchboard_voice::audio::FileDevices;
use switchboard_voice::call::CallEvent;
use switchboard_voice::phone::{Phone, PhoneEvent, PhoneSettings};
use tokio::sync::watch;

/// A guard against hanging, not a measure: every step takes milliseconds.
const GUARD: Duration = Duration::from_secs(20);

/// Waits until the board satisfies `check`, and returns it.
async fn board_until(
    board: &mut watch::Receiver<CallBoard>,
    what: &str,
    check: impl Fn(&CallBoard) -> bool,
) -> CallBoard {
    let result = tokio::time::timeout(GUARD, board.wait_for(|board| check(board)))
        .await
        .map(|seen| seen.map(|board| board.clone()));
    match result {
        Ok(Ok(board)) => board,
        _ => panic!("the board never showed {what}: {:?}", *board.borrow()),
    }
}

/// A stand-in for the cache and the outbox: the caller's number (here its SIP user) is one
/// customer, and every log is kept for the test to read.
#[derive(Default)]
struct Journal {
    logged: Mutex<Vec<(CallView, CallMoment)>>,
}

impl CallJournal for Journal {
    fn screen_pop(&self, number: &str) -> Vec<CustomerSummary> {
        if number == "switchboard" {
            vec![CustomerSummary {
                id: CustomerId::from_number(7),
                display_name: "Ada Lovelace".to_owned(),
                company: None,
                primary_phone: None,
                primary_email: None,
            }]
        } else {
            Vec::new()
        }
    }

    fn log_call(&self, call: &CallView, moment: CallMoment) {
        if let Ok(mut logged) = self.logged.lock() {
            logged.push((call.clone(), moment));
        }
    }
}

impl Journal {
    fn moments(&self) -> Vec<(String, CallMoment, Option<String>)> {
        self.logged
            .lock()
            .map(|logged| {
                logged
                    .iter()
                    .map(|(view, moment)| {
                        let (id, log) = view.log().expect("only loggable calls are logged");
                        (id.to_string(), *moment, log.ended_at)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn a_call_to_the_desk_shows_ringing_talking_muted_and_ended() {
    let journal = Arc::new(Journal::default());
    let desk = DeskPhone::start(
        PhoneSettings::direct("127.0.0.1:0".parse().expect("an address")),
        Arc::new(FileDevices::default()),
        journal.clone(),
    )
    .await
    .expect("the desk's phone starts");
    let mut board = desk.board();
    let PhoneLine::Direct { address } = board.borrow().line.clone() else {
        panic!("a phone without a registrar is ready at its address");
    };

    let caller = Phone::start(
        PhoneSettings::direct("127.0.0.1:0".parse().expect("an address")),
        Arc::new(FileDevices::default()),
    )
    .await
    .expect("the caller's phone starts");
    let mut caller_events = caller.events().expect("the caller's events");
    let call = caller
        .dial(&format!("sip:agent@{address}"))
        .await
        .expect("the caller dials the desk");

    let ringing = board_until(&mut board, "a ringing call", |board| {
        board
            .calls
            .iter()
            .any(|view| view.stage == CallStage::Ringing)
    })
    .await;
    let id = ringing.calls[0].id.clone();
    assert_eq!(id, call, "the desk's call is the caller's, by Call-ID");
    assert_eq!(
        ringing.calls[0]
            .customers
            .iter()
            .map(|customer| customer.display_name.as_str())
            .collect::<Vec<_>>(),
        vec!["Ada Lovelace"],
        "the ringing call shows its customer in the same change"
    );

    desk.answer(&id).await.expect("the agent answers");
    board_until(&mut board, "the call answered", |board| {
        board.calls[0].stage == CallStage::Talking && board.calls[0].answered_at_ms.is_some()
    })
    .await;
    desk.mute(&id, true).expect("the agent mutes");
    assert!(
        board.borrow().calls[0].muted,
        "the board shows the mute at once"
    );

    // The caller sees the answer, then hangs up.
    loop {
        let event = tokio::time::timeout(GUARD, caller_events.recv())
            .await
            .expect("the caller hears of the answer")
            .expect("the caller's events go on");
        if matches!(event, PhoneEvent::Call(CallEvent::Established { .. })) {
            break;
        }
    }
    caller.hang_up(&call).await.expect("the caller hangs up");
    let ended = board_until(&mut board, "the call ended", |board| {
        board.calls[0].stage == CallStage::Ended
    })
    .await;
    assert_eq!(
        ended.calls[0].ended.as_deref(),
        Some("The other side hung up"),
        "the agent reads why the call ended"
    );
    assert!(
        desk.answer(&id).await.is_err(),
        "an ended call cannot be answered again"
    );

    let moments = journal.moments();
    assert_eq!(
        moments.len(),
        2,
        "the call is logged twice, answered then ended: {moments:?}"
    );
    assert_eq!(
        (moments[0].1, moments[1].1),
        (CallMoment::Answered, CallMoment::Ended)
    );
    assert_eq!(
        moments[0].0, moments[1].0,
        "both logs name one interaction, so the hub keeps one call"
    );
    assert!(
        moments[0].2.is_none() && moments[1].2.is_some(),
        "only the second log has the end"
    );
    assert!(
        ended.calls[0].wrap_up_due,
        "an answered call about a known customer waits for its wrap-up"
    );
    let taken = desk
        .wrapped_up(&id)
        .expect("the wrapped-up call leaves the board");
    assert_eq!(taken.id, id);
    assert!(
        board.borrow().calls.is_empty(),
        "and the board no longer shows it"
    );
}
