//! SIP signalling over rsipstack: the phone's endpoint on the network, registration with a
//! registrar using digest authentication, calls that arrive (ringing, answered with a session
//! description, refused as busy or declined, cancelled by the caller) and calls placed
//! (ringing and early media at the far end, the answer), hung up by either side.
//!
//! rsipstack holds the transaction and dialog layers; this module keeps its types out of the
//! phone's API, so that the rest of the product sees only what a call needs.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::Registration;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::{EndpointBuilder, transaction::Endpoint};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::sdp::{SdpError, Session};

/// Why the phone could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "cannot open the phone's SIP port on {address}: {message}; another program may hold it"
    )]
    Bind {
        address: SocketAddr,
        message: String,
    },
    #[error("{0:?} is not a SIP address; write it as sip:host or sip:user@host:port")]
    BadUri(String),
    #[error(
        "the registrar refused the phone ({status}); check the SIP user and password in the settings"
    )]
    Refused { status: u16 },
    #[error("the registrar did not answer ({0}); check its address and the network")]
    Unreachable(String),
    #[error("the call could not be {action}: {message}")]
    Call {
        action: &'static str,
        message: String,
    },
}

/// What happens to the phone's calls, in the order it happens. `call` is the call's SIP
/// Call-ID, the same in every event of one call.
#[derive(Debug)]
pub enum CallEvent {
    /// A call arrives; answer, reject or let it ring.
    Incoming(IncomingCall),
    /// A call this phone placed rings at the other end.
    Ringing { call: String },
    /// A call this phone placed plays audio before it is answered (183 with a description):
    /// a ring-back tone or an announcement.
    EarlyMedia {
        call: String,
        answer: Result<Session, SdpError>,
    },
    /// Both sides talk.
    Established { call: String },
    /// The call is over.
    Ended { call: String, reason: EndReason },
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The caller gave up while it rang.
    CallerCancelled,
    /// The other side hung up.
    RemoteHungUp,
    /// This side hung up.
    LocalHungUp,
    /// This side refused it (busy or declined).
    Refused,
    /// The other side refused or failed it, with this status.
    Failed(u16),
    /// The other side stopped answering.
    TimedOut,
}

/// How this side refuses a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 486: the agent is on another call.
    Busy,
    /// 603: the agent declined it.
    Decline,
}

/// A call that arrived and is not yet answered.
pub struct IncomingCall {
    /// This call's id in later events.
    pub call: String,
    /// Who calls: the user part of P-Asserted-Identity when the network vouches for it,
    /// else of From. This is what a screen pop looks up.
    pub caller: String,
    /// The caller's audio, or why it cannot be used.
    pub offer: Result<Session, SdpError>,
    dialog: InviteDialog,
}

impl std::fmt::Debug for IncomingCall {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IncomingCall")
            .field("call", &self.call)
            .field("caller", &self.caller)
            .field("offer", &self.offer)
            .finish_non_exhaustive()
    }
}

impl IncomingCall {
    /// Tells the caller that the agent's phone rings (180).
    pub fn ring(&self) -> Result<(), PhoneError> {
        self.dialog.ringing(None, None).map_err(call_failed("rung"))
    }

    /// Answers with `answer` (200 OK with its description).
    pub fn answer(&self, answer: &Session) -> Result<(), PhoneError> {
        let body = answer.to_sdp(1, 1).into_bytes();
        self.dialog
            .accept(Some(vec![sdp_content_type()]), Some(body))
            .map_err(call_failed("answered"))
    }

    /// Refuses the call.
    pub fn reject(&self, refusal: Refusal) -> Result<(), PhoneError> {
        let status = match refusal {
            Refusal::Busy => StatusCode::BusyHere,
            Refusal::Decline => StatusCode::Decline,
        };
        self.dialog
            .reject(Some(status), None)
            .map_err(call_failed("refused"))
    }

    /// Hangs the call up (BYE once answered).
    pub async fn hang_up(&self) -> Result<(), PhoneError> {
        hang_up(&self.dialog).await
    }
}

/// A call this phone placed.
pub struct OutgoingCall {
    /// This call's id in events.
    pub call: String,
    dialog: InviteDialog,
    answer:
        Option<rsipstack::platform::JoinHandle<rsipstack::dialog::invitation::InviteAsyncResult>>,
}

impl std::fmt::Debug for OutgoingCall {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OutgoingCall")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

impl OutgoingCall {
    /// Waits for the final answer: the other side's description when it answered, the status
    /// when it refused. Only the first call waits; later ones say the answer was taken.
    pub async fn answered(&mut self) -> Result<Session, PhoneError> {
        let failed = |message: String| PhoneError::Call {
            action: "answered",
            message,
        };
        let answer = self
            .answer
            .take()
            .ok_or_else(|| failed("its answer was already taken".to_owned()))?;
        let (_, response) = answer
            .await
            .map_err(|error| failed(error.to_string()))?
            .map_err(|error| failed(error.to_string()))?;
        let response = response.ok_or_else(|| failed("no answer came".to_owned()))?;
        let status = u16::from(response.status_code.clone());
        if !(200..300).contains(&status) {
            return Err(failed(format!("the other side answered {status}")));
        }
        session_of(&response.body).map_err(|error| failed(error.to_string()))
    }

    /// Hangs up: CANCEL while it rings, BYE once answered.
    pub async fn hang_up(&self) -> Result<(), PhoneError> {
        hang_up(&self.dialog).await
    }
}

/// CANCEL while a call rings, BYE once answered: the same for a call taken or placed.
async fn hang_up(dialog: &InviteDialog) -> Result<(), PhoneError> {
    dialog.hangup().await.map_err(call_failed("hung up"))
}

/// rsipstack's error for a step of a call, as the phone's.
fn call_failed(action: &'static str) -> impl Fn(rsipstack::Error) -> PhoneError + Copy {
    move |error| PhoneError::Call {
        action,
        message: error.to_string(),
    }
}

/// rsipstack's error while opening the endpoint on `address`, as the phone's.
fn bind_failed(address: SocketAddr) -> impl Fn(rsipstack::Error) -> PhoneError + Copy {
    move |error| PhoneError::Bind {
        address,
        message: error.to_string(),
    }
}

fn sdp_content_type() -> Header {
    Header::ContentType("application/sdp".into())
}

/// The user and password the registrar knows the agent's phone by.
#[derive(Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        formatter
            .debug_struct("Account")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The phone's SIP endpoint: one UDP port, served on a task of its own until dropped.
pub struct Phone {
    endpoint: Endpoint,
    address: SocketAddr,
    stop: CancellationToken,
    events: Option<mpsc::UnboundedReceiver<CallEvent>>,
    dialogs: Arc<DialogLayer>,
    states: DialogStateSender,
    /// The Call-IDs of calls this phone placed and that have not ended: their early states are
    /// the other side's progress, where an arriving call's are this side's own ringing.
    placed: Placed,
}

type Placed = Arc<Mutex<HashSet<String>>>;

impl std::fmt::Debug for Phone {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Phone")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// Opens the phone's endpoint on `address` (port 0 picks a free one).
    pub async fn start(address: SocketAddr) -> Result<Phone, PhoneError> {
        let stop = CancellationToken::new();
        let transports = TransportLayer::new(stop.child_token());
        let udp = UdpConnection::create_connection(address, None, Some(stop.child_token()))
            .await
            .map_err(bind_failed(address))?;
        let bound = udp
            .get_addr()
            .get_socketaddr()
            .map_err(bind_failed(address))?;
        transports.add_transport(udp.into());

        let endpoint = EndpointBuilder::new()
            .with_user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .with_cancel_token(stop.clone())
            .with_transport_layer(transports)
            .build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(bind_failed(address))?;
        let inner = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(error) = inner.serve().await {
                tracing::warn!(%error, "the phone's SIP endpoint stopped");
            }
        });

        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (states, state_changes) = dialogs.new_dialog_state_channel();
        let (events, receiver) = mpsc::unbounded_channel();
        let placed = Placed::default();
        tokio::spawn(follow_states(
            Arc::clone(&dialogs),
            state_changes,
            events.clone(),
            Arc::clone(&placed),
        ));
        tokio::spawn(take_requests(
            Arc::clone(&dialogs),
            incoming,
            states.clone(),
            events,
        ));

        tracing::info!(address = %bound, "phone listening for SIP");
        Ok(Phone {
            endpoint,
            address: bound,
            stop,
            events: Some(receiver),
            dialogs,
            states,
            placed,
        })
    }

    /// Calls `target` (such as `sip:+447700900123@pbx.example.com`) offering `offer`; the
    /// call's progress comes as events, and [`OutgoingCall::answered`] waits for the answer.
    pub fn dial(&self, target: &str, offer: &Session) -> Result<OutgoingCall, PhoneError> {
        let callee = rsipstack::sip::Uri::try_from(target)
            .map_err(|_| PhoneError::BadUri(target.to_owned()))?;
        let refuse = call_failed("placed");
        let contact = self
            .dialogs
            .build_local_contact(Some("switchboard".to_owned()), None)
            .map_err(refuse)?;
        let options = rsipstack::dialog::invitation::InviteOption {
            caller: contact.clone(),
            callee,
            contact,
            content_type: Some("application/sdp".to_owned()),
            offer: Some(offer.to_sdp(1, 1).into_bytes()),
            ..Default::default()
        };
        let (dialog, answer) = self
            .dialogs
            .do_invite_async(options, self.states.clone())
            .map_err(refuse)?;
        let call = dialog.id().call_id;
        if let Ok(mut placed) = self.placed.lock() {
            placed.insert(call.clone());
        }
        tracing::info!(%call, "call placed");
        Ok(OutgoingCall {
            call,
            dialog,
            answer: Some(answer),
        })
    }

    /// The stream of call events; there is one, so the second call returns `None`.
    pub fn events(&mut self) -> Option<mpsc::UnboundedReceiver<CallEvent>> {
        self.events.take()
    }

    /// Where the phone receives SIP.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Registers `account` at `registrar` (such as `sip:pbx.example.com:5060`) for `expires`
    /// seconds, answering its digest challenge; returns the expiry the registrar granted.
    ///
    /// FIXME(voice-register): nothing refreshes the registration before it expires yet; the
    /// caller must register again in time.
    pub async fn register(
        &self,
        registrar: &str,
        account: &Account,
        expires: u32,
    ) -> Result<u32, PhoneError> {
        let uri = rsipstack::sip::Uri::try_from(registrar)
            .map_err(|_| PhoneError::BadUri(registrar.to_owned()))?;
        let credential = Credential {
            username: account.user.clone(),
            password: account.password.clone(),
            realm: None,
            auth_username: None,
        };
        let mut registration = Registration::new(self.endpoint.inner.clone(), Some(credential));
        let answer = registration
            .register(uri, Some(expires))
            .await
            .map_err(|error| PhoneError::Unreachable(error.to_string()))?;

        let status = u16::from(answer.status_code.clone());
        if !(200..300).contains(&status) {
            tracing::warn!(status, user = %account.user, "registration refused");
            return Err(PhoneError::Refused { status });
        }
        tracing::info!(user = %account.user, expires = registration.expires(), "registered");
        Ok(registration.expires())
    }
}

/// Serves the requests that reach the phone: new calls become dialogs and events, requests
/// within a call go to its dialog, the rest get their standard refusals.
async fn take_requests(
    dialogs: Arc<DialogLayer>,
    mut incoming: rsipstack::transaction::TransactionReceiver,
    states: DialogStateSender,
    events: mpsc::UnboundedSender<CallEvent>,
) {
    while let Some(mut transaction) = incoming.recv().await {
        let in_dialog = transaction
            .original
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .is_some();
        if in_dialog {
            match dialogs.match_dialog(&transaction) {
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
            Method::Invite => {
                if let Some(call) = new_call(&dialogs, transaction, &states) {
                    let _ = events.send(CallEvent::Incoming(call));
                }
            }
            Method::Options => {
                let _ = transaction.reply(StatusCode::OK).await;
            }
            _ => {
                let _ = transaction.reply(StatusCode::MethodNotAllowed).await;
            }
        }
    }
}

/// Makes a dialog of a new INVITE and hands its transaction to it; `None` (after refusing
/// it) when the INVITE cannot start a call.
fn new_call(
    dialogs: &Arc<DialogLayer>,
    mut transaction: Transaction,
    states: &DialogStateSender,
) -> Option<IncomingCall> {
    let request = transaction.original.clone();
    let contact = dialogs
        .build_local_contact(Some("switchboard".to_owned()), None)
        .ok();
    let dialog =
        match dialogs.get_or_create_server_invite(&transaction, states.clone(), None, contact) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::warn!(%error, "an INVITE could not start a call");
                return None;
            }
        };
    let call = dialog.id().call_id;
    let caller = caller_of(&request);
    let offer = session_of(&request.body);
    tracing::info!(%call, "call arriving");

    // The dialog answers the INVITE's transaction (100 Trying, the final answer, the ACK, a
    // CANCEL) on a task of its own; the call's methods act on the same dialog.
    let mut serving = dialog.clone();
    tokio::spawn(async move {
        if let Err(error) = serving.handle(&mut transaction).await {
            tracing::debug!(%error, "an arriving call's transaction ended with an error");
        }
    });
    Some(IncomingCall {
        call,
        caller,
        offer,
        dialog,
    })
}

/// The session description in a message's body.
fn session_of(body: &[u8]) -> Result<Session, SdpError> {
    std::str::from_utf8(body)
        .map_err(|_| SdpError::NoAudio)
        .and_then(Session::parse)
}

/// The user part of P-Asserted-Identity, else of From.
fn caller_of(request: &rsipstack::sip::Request) -> String {
    let asserted = request
        .p_asserted_identity_header()
        .and_then(|identity| rsipstack::sip::typed::From::parse(identity.value()).ok())
        .and_then(|identity| identity.uri.user().map(str::to_owned));
    let from = || {
        request
            .from_header()
            .ok()
            .and_then(|from| from.typed().ok())
            .and_then(|from| from.uri.user().map(str::to_owned))
    };
    asserted.or_else(from).unwrap_or_default()
}

/// Turns the dialogs' state changes into call events.
async fn follow_states(
    dialogs: Arc<DialogLayer>,
    mut changes: rsipstack::dialog::dialog::DialogStateReceiver,
    events: mpsc::UnboundedSender<CallEvent>,
    placed: Placed,
) {
    let was_placed = |call: &str| placed.lock().is_ok_and(|placed| placed.contains(call));
    while let Some(change) = changes.recv().await {
        match change {
            DialogState::Early(id, response) if was_placed(&id.call_id) => {
                let event = if response.body.is_empty() {
                    CallEvent::Ringing { call: id.call_id }
                } else {
                    CallEvent::EarlyMedia {
                        call: id.call_id,
                        answer: session_of(&response.body),
                    }
                };
                let _ = events.send(event);
            }
            DialogState::Confirmed(id, _) => {
                let _ = events.send(CallEvent::Established { call: id.call_id });
            }
            DialogState::Terminated(id, reason) => {
                dialogs.remove_dialog(&id);
                let ours = placed
                    .lock()
                    .is_ok_and(|mut placed| placed.remove(&id.call_id));
                let _ = events.send(CallEvent::Ended {
                    reason: end_reason(&reason, ours),
                    call: id.call_id,
                });
            }
            // FIXME(voice-midcall): hold (re-INVITE), transfer (REFER, NOTIFY) and SIP INFO
            // are refused with 501 until the phone handles them; answering at once at least
            // keeps the stack from timing them out after 32 s.
            DialogState::Updated(_, _, handle)
            | DialogState::Notify(_, _, handle)
            | DialogState::Refer(_, _, handle)
            | DialogState::Message(_, _, handle)
            | DialogState::Info(_, _, handle)
            | DialogState::Options(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::NotImplemented).await;
            }
            _ => {}
        }
    }
}

/// The end of a call in this side's terms. rsipstack names who hung up by role (the caller is
/// the UAC), so a BYE from the UAC is ours on a call this phone placed and the other side's on
/// one it took.
fn end_reason(reason: &TerminatedReason, placed: bool) -> EndReason {
    match reason {
        TerminatedReason::UacCancel if placed => EndReason::LocalHungUp,
        TerminatedReason::UacCancel => EndReason::CallerCancelled,
        TerminatedReason::UacBye if placed => EndReason::LocalHungUp,
        TerminatedReason::UasBye if placed => EndReason::RemoteHungUp,
        TerminatedReason::UacBye => EndReason::RemoteHungUp,
        TerminatedReason::UasBye => EndReason::LocalHungUp,
        TerminatedReason::UasBusy | TerminatedReason::UasDecline => EndReason::Refused,
        TerminatedReason::Timeout => EndReason::TimedOut,
        TerminatedReason::UacBusy => EndReason::Failed(486),
        TerminatedReason::ProxyError(status)
        | TerminatedReason::UacOther(status)
        | TerminatedReason::UasOther(status) => EndReason::Failed(u16::from(status.clone())),
        TerminatedReason::ProxyAuthRequired => EndReason::Failed(407),
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.stop.cancel();
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
            EndReason::RemoteHungUp
        );
        assert_eq!(
            end_reason(&TerminatedReason::UacCancel, false),
            EndReason::CallerCancelled
        );
        assert_eq!(
            end_reason(&TerminatedReason::UasDecline, false),
            EndReason::Refused
        );
    }
}
