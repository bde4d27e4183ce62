//! The phone's background work over rsipstack: requests that reach the phone (a new call, a
//! request within a call), the dialogs' state changes turned into call events and media, and
//! the registration kept fresh. Each function here runs as a task of the phone and ends when
//! the phone stops.

use std::sync::Arc;
use std::time::Instant;

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::registration::Registration;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use tokio::sync::mpsc;

use crate::call::{Call, CallEvent, CallMedia, EndReason, Side, Way, holds};
use crate::media::{Heard, MediaPort};
use crate::phone::{Registered, Shared, register_once, retry_after, sdp_content_type};
use crate::sdp::{Direction, SdpError, Session};

/// Serves the requests that reach the phone: a new INVITE becomes a ringing call, requests
/// within a call go to its dialog, the rest get their standard answers.
pub(crate) async fn take_requests(
    shared: Arc<Shared>,
    mut incoming: rsipstack::transaction::TransactionReceiver,
) {
    loop {
        let mut transaction = tokio::select! {
            () = shared.stop.cancelled() => return,
            transaction = incoming.recv() => match transaction {
                Some(transaction) => transaction,
                None => return,
            },
        };
        let in_dialog = transaction
            .original
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .is_some();
        if in_dialog {
            match shared.dialogs.match_dialog(&transaction) {
                Some(mut dialog) => {
                    tokio::spawn(async move {
                        if let Err(error) = dialog.handle(&mut transaction).await {
                            tracing::debug!(%error, "a request within a call failed");
                        }
                    });
                }
                None => {
                    let _ = transaction
                        .reply(StatusCode::CallTransactionDoesNotExist)
                        .await;
                }
            }
            continue;
        }

        match transaction.original.method {
            Method::Invite => new_call(&shared, transaction).await,
            Method::Options => {
                let _ = transaction.reply(StatusCode::OK).await;
            }
            _ => {
                let _ = transaction.reply(StatusCode::MethodNotAllowed).await;
            }
        }
    }
}

/// Makes a ringing call of a new INVITE: its dialog answers the transaction on a task of its
/// own (100, the final answer, the ACK or a CANCEL), the phone rings (180), and the call is
/// announced. An INVITE whose audio the phone cannot take is refused (488).
async fn new_call(shared: &Arc<Shared>, mut transaction: Transaction) {
    let request = transaction.original.clone();
    let contact = shared.contact().ok();
    let dialog = match shared.dialogs.get_or_create_server_invite(
        &transaction,
        shared.states.clone(),
        None,
        contact,
    ) {
        Ok(dialog) => dialog,
        Err(error) => {
            tracing::warn!(%error, "an INVITE could not start a call");
            return;
        }
    };
    let mut serving = dialog.clone();
    tokio::spawn(async move {
        if let Err(error) = serving.handle(&mut transaction).await {
            tracing::debug!(%error, "an arriving call's transaction ended with an error");
        }
    });

    let call = dialog.id().call_id;
    let (caller, display_name) = caller_of(&request);
    let port = match MediaPort::bind(shared.address.ip()).await {
        Ok(port) => port,
        Err(error) => {
            tracing::warn!(%call, %error, "no port for a call's audio; refusing it");
            let _ = dialog.reject(Some(StatusCode::ServerInternalError), None);
            return;
        }
    };
    let local = shared.local_session(port.port());
    // FIXME(voice-late-offer): an INVITE without a description (the caller waits for ours and
    // answers in the ACK) is refused with 488 like one without a common codec; some PBXs call
    // that way, and taking it needs the answer read from the ACK.
    let offer = session_of(&request.body);
    let refusal = match &offer {
        Ok(offer) => local.answer(offer).err(),
        Err(error) => Some(error.clone()),
    };
    if let Some(error) = refusal {
        tracing::info!(%call, %error, "refusing a call whose audio cannot be taken");
        let _ = dialog.reject(Some(StatusCode::NotAcceptableHere), None);
        return;
    }
    let mut state = Call::new(dialog.clone(), Way::Taken, local, port);
    state.remote = offer.ok();
    if let Ok(mut calls) = shared.calls.lock() {
        calls.insert(call.clone(), state);
    }

    if let Err(error) = dialog.ringing(None, None) {
        tracing::warn!(%call, %error, "could not tell the caller the phone rings");
    }
    tracing::info!(%call, "call arriving");
    shared.emit(CallEvent::Incoming {
        call,
        caller,
        display_name,
    });
}

/// Turns the dialogs' state changes into call events, media and answers.
pub(crate) async fn follow_states(shared: Arc<Shared>, mut changes: DialogStateReceiver) {
    loop {
        let change = tokio::select! {
            () = shared.stop.cancelled() => return,
            change = changes.recv() => match change {
                Some(change) => change,
                None => return,
            },
        };
        match change {
            DialogState::Early(id, response) => {
                early(&shared, &id.call_id, &response.body);
            }
            DialogState::Confirmed(id, response) => {
                confirmed(&shared, &id.call_id, &response.body);
            }
            DialogState::Updated(id, request, handle) => {
                let (status, body) = described_again(&shared, &id.call_id, &request.body);
                let headers = body.as_ref().map(|_| vec![sdp_content_type()]);
                let _ = handle.respond(status, headers, body).await;
            }
            DialogState::Notify(id, request, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                transfer_progress(&shared, &id.call_id, &request).await;
            }
            DialogState::Info(id, request, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
                if let Some(key) = info_key(&request.body) {
                    shared.emit(CallEvent::Dtmf {
                        call: id.call_id,
                        key,
                    });
                }
            }
            DialogState::Refer(_, _, handle) => {
                // A desk decides where its calls go; the other side may not move it.
                let _ = handle.reply(StatusCode::Forbidden).await;
            }
            DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Message(_, _, handle) | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::NotImplemented).await;
            }
            DialogState::Terminated(id, reason) => {
                shared.dialogs.remove_dialog(&id);
                let (placed, transferring) = shared
                    .with_call(&id.call_id, |call| {
                        Ok((call.way == Way::Placed, call.transferring))
                    })
                    .unwrap_or((false, false));
                let reason = if transferring {
                    EndReason::Transferred
                } else {
                    end_reason(&reason, placed)
                };
                finish(&shared, &id.call_id, reason);
            }
            _ => {}
        }
    }
}

/// A placed call's progress: ringing, or early media, which the agent hears.
fn early(shared: &Arc<Shared>, call: &str, body: &[u8]) {
    let media = shared.with_call(call, |state| {
        if state.way != Way::Placed {
            return Ok(false);
        }
        if body.is_empty() {
            return Ok(false);
        }
        state.remote = session_of(body).ok();
        Ok(state.remote.is_some())
    });
    match media {
        Ok(true) => {
            start_media(shared, call);
            shared.emit(CallEvent::EarlyMedia {
                call: call.to_owned(),
            });
        }
        Ok(false) if body.is_empty() => shared.emit(CallEvent::Ringing {
            call: call.to_owned(),
        }),
        _ => {}
    }
}

/// A call became established: the answer's description starts (or updates) a placed call's
/// media. Later confirmations (after a re-INVITE or a transfer's NOTIFY) announce nothing.
pub(crate) fn confirmed(shared: &Arc<Shared>, call: &str, body: &[u8]) {
    let first = shared.with_call(call, |state| {
        if state.established {
            return Ok(false);
        }
        state.established = true;
        if state.way == Way::Placed {
            state.answered = Some(Instant::now());
            if let Ok(answer) = session_of(body) {
                state.remote = Some(answer);
            }
        }
        Ok(true)
    });
    if first.unwrap_or(false) {
        start_media(shared, call);
        shared.emit(CallEvent::Established {
            call: call.to_owned(),
        });
    }
}

/// Starts the call's media from its descriptions, or follows them when it already runs; the
/// keys the media hears are told as the call's events.
pub(crate) fn start_media(shared: &Arc<Shared>, call: &str) {
    let keys = shared.with_call(call, |state| {
        let Some(mut stream) = state.stream() else {
            return Ok(None);
        };
        if state.way == Way::Placed && state.answered.is_none() {
            // Early media is heard, not answered: nothing is sent before the answer.
            stream.direction = match stream.direction {
                Direction::SendRecv | Direction::RecvOnly => Direction::RecvOnly,
                _ => Direction::Inactive,
            };
        }
        match std::mem::replace(&mut state.media, CallMedia::Stopped) {
            CallMedia::Waiting(port) => {
                let (source, sink) = shared.devices.open(call);
                let (heard, keys) = mpsc::unbounded_channel();
                let media = port.start(stream, source, sink, heard);
                media.mute(state.muted);
                state.media = CallMedia::Running(media);
                Ok(Some(keys))
            }
            CallMedia::Running(media) => {
                media.update(stream);
                state.media = CallMedia::Running(media);
                Ok(None)
            }
            CallMedia::Stopped => Ok(None),
        }
    });
    if let Ok(Some(mut keys)) = keys {
        let shared = Arc::clone(shared);
        let call = call.to_owned();
        // Ends when the media stops, which drops its end of the channel.
        tokio::spawn(async move {
            while let Some(Heard::Key(key)) = keys.recv().await {
                shared.emit(CallEvent::Dtmf {
                    call: call.clone(),
                    key,
                });
            }
        });
    }
}

/// The other side described its audio again (a re-INVITE or UPDATE): hold, resume, a new
/// address. Returns the answer's status and body.
fn described_again(shared: &Arc<Shared>, call: &str, body: &[u8]) -> (StatusCode, Option<Vec<u8>>) {
    let outcome = shared.with_call(call, |state| {
        if body.is_empty() {
            // An offer asked of this side: the current description is it.
            return Ok((
                StatusCode::OK,
                Some(state.next_description().into_bytes()),
                None,
            ));
        }
        let Ok(offer) = session_of(body) else {
            return Ok((StatusCode::NotAcceptableHere, None, None));
        };
        let Ok(mut answer) = state.local.answer(&offer) else {
            return Ok((StatusCode::NotAcceptableHere, None, None));
        };
        // While the agent holds, the answer keeps holding whatever the other side offers.
        let agent_holds = matches!(
            state.local.direction,
            Direction::SendOnly | Direction::Inactive
        );
        if agent_holds {
            answer.direction = match answer.direction {
                Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
                Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
            };
        }
        let held = holds(&offer);
        let change = match (state.held_by_remote, held) {
            (false, true) => Some(true),
            (true, false) => Some(false),
            _ => None,
        };
        state.held_by_remote = held;
        state.local = answer;
        state.remote = Some(offer);
        if let (CallMedia::Running(media), Some(stream)) = (&state.media, state.stream()) {
            media.update(stream);
        }
        Ok((
            StatusCode::OK,
            Some(state.next_description().into_bytes()),
            change,
        ))
    });
    match outcome {
        Ok((status, body, change)) => {
            match change {
                Some(true) => shared.emit(CallEvent::Held {
                    call: call.to_owned(),
                    by: Side::Remote,
                }),
                Some(false) => shared.emit(CallEvent::Resumed {
                    call: call.to_owned(),
                    by: Side::Remote,
                }),
                None => {}
            }
            (status, body)
        }
        Err(_) => (StatusCode::CallTransactionDoesNotExist, None),
    }
}

/// A NOTIFY about a transfer this phone asked for: its progress is told, and once the target
/// answered this phone leaves the call.
async fn transfer_progress(shared: &Arc<Shared>, call: &str, request: &rsipstack::sip::Request) {
    let about_refer = request
        .header_value("Event")
        .is_some_and(|event| event.to_ascii_lowercase().contains("refer"));
    let Some(status) = about_refer.then(|| sipfrag_status(&request.body)).flatten() else {
        return;
    };
    shared.emit(CallEvent::Transfer {
        call: call.to_owned(),
        status,
    });
    let dialog = shared.with_call(call, |state| {
        if status >= 300 {
            state.transferring = false;
        }
        Ok(state.dialog.clone())
    });
    if (200..300).contains(&status)
        && let Ok(dialog) = dialog
        && let Err(error) = dialog.bye().await
    {
        tracing::debug!(%call, %error, "leaving a transferred call failed; the other side may");
    }
}

/// Ends the call once: its media stops, and the end is told with how long the sides talked.
pub(crate) fn finish(shared: &Shared, call: &str, reason: EndReason) {
    let ended = shared
        .calls
        .lock()
        .ok()
        .and_then(|mut calls| calls.remove(call));
    let Some(mut state) = ended else {
        return;
    };
    state.ended = Some(Instant::now());
    state.media = CallMedia::Stopped;
    let talked = state.timing().talked;
    tracing::info!(%call, ?reason, talked_ms = talked.as_millis() as u64, "call ended");
    shared.emit(CallEvent::Ended {
        call: call.to_owned(),
        reason,
        talked,
    });
}

/// Keeps a registration fresh until the phone begins to stop, then removes it. A phone
/// dropped without [`crate::phone::Phone::stop`] cannot unregister: its endpoint is gone.
pub(crate) async fn keep_registered(
    shared: Arc<Shared>,
    mut registration: Registration,
    registrar: rsipstack::sip::Uri,
    mut expires: u32,
) {
    let mut failures = 0;
    loop {
        let wait = if failures == 0 {
            rsipstack::dialog::registration::refresh_interval(expires)
        } else {
            retry_after(failures)
        };
        tokio::select! {
            () = shared.closing.cancelled() => break,
            () = shared.stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        match register_once(&shared, &mut registration, &registrar).await {
            Ok(granted) => {
                expires = granted;
                failures = 0;
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(%error, failures, "registration refresh failed; trying again");
            }
        }
    }
    // The registrar forgets the phone, so calls stop arriving at a desk that is closed.
    match registration.register(registrar, Some(0)).await {
        Ok(_) => tracing::info!("unregistered"),
        Err(error) => tracing::warn!(%error, "the registration could not be removed"),
    }
    let _ = shared.events.send(crate::phone::PhoneEvent::Registration(
        Registered::Unregistered,
    ));
}

/// The session description in a message's body.
pub(crate) fn session_of(body: &[u8]) -> Result<Session, SdpError> {
    std::str::from_utf8(body)
        .map_err(|_| SdpError::NoAudio)
        .and_then(Session::parse)
}

/// Who calls: the user part of P-Asserted-Identity, else of From, and the display name.
fn caller_of(request: &rsipstack::sip::Request) -> (String, Option<String>) {
    let asserted = request
        .p_asserted_identity_header()
        .and_then(|identity| rsipstack::sip::typed::From::parse(identity.value()).ok());
    let from = || {
        request
            .from_header()
            .ok()
            .and_then(|from| from.typed().ok())
    };
    match asserted.or_else(from) {
        Some(identity) => (
            identity.uri.user().map(str::to_owned).unwrap_or_default(),
            identity
                .display_name
                .map(|name| name.trim_matches('"').to_owned())
                .filter(|name| !name.is_empty()),
        ),
        None => (String::new(), None),
    }
}

/// Reads bytes as a peer's SIP message the way the phone reads one that arrives: the caller's
/// identity, the session description, a transfer's progress, a relayed key. The fuzz target
/// feeds it arbitrary bytes; nothing in it may panic.
pub fn read_peer_message(bytes: &[u8]) {
    if let Ok(rsipstack::sip::SipMessage::Request(request)) =
        rsipstack::sip::SipMessage::try_from(bytes)
    {
        let _ = caller_of(&request);
        let _ = session_of(&request.body);
        let _ = sipfrag_status(&request.body);
        let _ = info_key(&request.body);
    }
}

/// The status line of a `message/sipfrag` body (`SIP/2.0 200 OK`).
pub(crate) fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let rest = line.strip_prefix("SIP/2.0")?.trim_start();
    rest.split_whitespace().next()?.parse().ok()
}

/// The key in an `application/dtmf-relay` INFO body (`Signal=5`).
pub(crate) fn info_key(body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("signal") {
            return None;
        }
        let key = value.trim().chars().next()?.to_ascii_uppercase();
        crate::dtmf::event_of(key).map(|_| key)
    })
}

/// The end of a call in this side's terms. rsipstack names who hung up by role (the caller is
/// the UAC), so a BYE from the UAC is ours on a call this phone placed and the other side's on
/// one it took.
pub(crate) fn end_reason(reason: &TerminatedReason, placed: bool) -> EndReason {
    match reason {
        TerminatedReason::UacCancel if placed => EndReason::LocalHungUp,
        TerminatedReason::UacCancel => EndReason::CallerCancelled,
        TerminatedReason::UacBye if placed => EndReason::LocalHungUp,
        TerminatedReason::UasBye if placed => EndReason::RemoteHungUp,
        TerminatedReason::UacBye => EndReason::RemoteHungUp,
        TerminatedReason::UasBye => EndReason::LocalHungUp,
        TerminatedReason::UasBusy | TerminatedReason::UasDecline if !placed => EndReason::Refused,
        TerminatedReason::UasBusy | TerminatedReason::UacBusy => EndReason::Failed(486),
        TerminatedReason::UasDecline => EndReason::Failed(603),
        TerminatedReason::Timeout => EndReason::TimedOut,
        TerminatedReason::ProxyError(status)
        | TerminatedReason::UacOther(status)
        | TerminatedReason::UasOther(status) => EndReason::Failed(u16::from(status.clone())),
        TerminatedReason::ProxyAuthRequired => EndReason::Failed(407),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_hung_up_is_told_from_this_sides_point_of_view() {
        assert_eq!(
            end_reason(&TerminatedReason::UacBye, false),
            EndReason::RemoteHungUp,
            "on a call this phone took, the caller's BYE is the other side's"
        );
        assert_eq!(
            end_reason(&TerminatedReason::UacBye, true),
            EndReason::LocalHungUp,
            "on a call this phone placed, the caller's BYE is its own"
        );
        assert_eq!(
            end_reason(&TerminatedReason::UasBye, true),
            EndReason::RemoteHungUp,
            "on a call placed, the callee's BYE is the other side's"
        );
        assert_eq!(
            end_reason(&TerminatedReason::UacCancel, false),
            EndReason::CallerCancelled,
            "a CANCEL on a call taken is the caller giving up"
        );
        assert_eq!(
            end_reason(&TerminatedReason::UasDecline, false),
            EndReason::Refused,
            "a call this phone declined was refused here"
        );
    }

    fn invite(extra: &str) -> rsipstack::sip::Request {
        let text = format!(
            "INVITE sip:agent@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1;rport\r\n\
             From: \"Ada\" <sip:+447700900123@pbx.example.com>;tag=1\r\n\
             To: <sip:agent@127.0.0.1>\r\n\
             Call-ID: a@b\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match rsipstack::sip::SipMessage::try_from(text.as_str()) {
            Ok(rsipstack::sip::SipMessage::Request(request)) => request,
            other => panic!("the sample INVITE must parse: {other:?}"),
        }
    }

    #[test]
    fn the_caller_is_the_asserted_identity_when_the_network_gives_one() {
        assert_eq!(
            caller_of(&invite("")),
            ("+447700900123".to_owned(), Some("Ada".to_owned())),
            "without P-Asserted-Identity, From's user and name"
        );
        let asserted = invite("P-Asserted-Identity: <sip:+441632960001@carrier.example>\r\n");
        assert_eq!(
            caller_of(&asserted).0,
            "+441632960001",
            "the identity the network vouches for beats what the caller wrote in From"
        );
    }

    #[test]
    fn a_transfers_progress_and_a_relayed_key_are_read() {
        assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying\r\n"), Some(100));
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK"), Some(200));
        assert_eq!(
            sipfrag_status(b"garbage"),
            None,
            "no status line, no progress"
        );
        assert_eq!(info_key(b"Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(info_key(b"signal = #\r\n"), Some('#'));
        assert_eq!(info_key(b"Signal=x\r\n"), None, "only keypad keys count");
    }
}
