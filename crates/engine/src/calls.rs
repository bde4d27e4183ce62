//! The agent's calls as the window shows them: the softphone's events folded into one view per
//! call (who, which way, ringing or talking or held, muted, for how long, how it ended), and the
//! desk's phone that the window's commands act on.
//!
//! The fold is pure ([`CallBoard::apply`]) and tested without a network; [`DeskPhone`] runs it
//! over the real phone's events and publishes each new board on a watch channel. The phone
//! lives here, in Rust, so a reload of the window never touches a call.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use switchboard_model::{
    CallLog, ConversationId, CustomerId, CustomerSummary, Direction, InteractionId,
};
use switchboard_voice::audio::AudioDevices;
use switchboard_voice::call::{CallEvent, EndReason, Refusal, Side};
use switchboard_voice::phone::{Phone, PhoneError, PhoneEvent, PhoneSettings, Registered};
use tokio::sync::watch;

use crate::EngineError;

/// How long an ended call stays on the board, so the agent sees how it ended.
pub const ENDED_SHOWN_FOR: Duration = Duration::from_secs(10);

/// Which way a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Inbound,
    Outbound,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CallStage {
    /// An inbound call waiting for the agent.
    Ringing,
    /// An outbound call not yet answered.
    Dialling,
    Talking,
    /// On hold; `held_by_agent` says who put it there.
    Held,
    Ended,
}

/// One call as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CallView {
    pub id: String,
    pub direction: CallDirection,
    /// The other party's number (or SIP user): what the screen pop looks up.
    pub number: String,
    /// The name the network gave, untrusted text.
    pub display_name: Option<String>,
    /// The customers the number points at in the desk's cache (the screen pop): one, none,
    /// or every candidate when several share it, for the agent to choose.
    pub customers: Vec<CustomerSummary>,
    pub stage: CallStage,
    /// Whether the agent holds it (else the other side does), while held.
    pub held_by_agent: bool,
    pub muted: bool,
    /// When it began, in milliseconds since the Unix epoch.
    pub started_at_ms: f64,
    /// When it was answered, in milliseconds since the Unix epoch.
    pub answered_at_ms: Option<f64>,
    /// The keys the other side pressed during the call.
    pub keys_heard: String,
    /// The last progress of a transfer the agent asked for (100 trying, 200 answered).
    pub transfer_status: Option<u16>,
    /// Why it ended, in words an agent reads.
    pub ended: Option<String>,
    /// When it ended, in milliseconds since the Unix epoch.
    pub ended_at_ms: Option<f64>,
    /// The customer the call is about: the only one its number points at, or the one the
    /// agent linked it to. Calls are logged on the customer's timeline only once this is known.
    pub customer_id: Option<CustomerId>,
    /// The interaction the call is logged as, and its conversation: chosen by the desk from
    /// the call's SIP id, so that logging it twice names the same records.
    pub interaction_id: InteractionId,
    pub conversation_id: ConversationId,
    /// The call was answered, ended and is logged, and waits for the agent's wrap-up: it stays
    /// on the board until then.
    pub wrap_up_due: bool,
}

/// A moment in a call that its log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMoment {
    /// The call was answered (or linked to its customer while it goes on).
    Answered,
    /// The call ended after it was answered (or was linked once it had).
    Ended,
}

impl CallView {
    fn new(id: String, direction: CallDirection, number: String, at: f64) -> CallView {
        let (interaction_id, conversation_id) = ids_of(&id);
        CallView {
            id,
            direction,
            number,
            display_name: None,
            customers: Vec::new(),
            stage: match direction {
                CallDirection::Inbound => CallStage::Ringing,
                CallDirection::Outbound => CallStage::Dialling,
            },
            held_by_agent: false,
            muted: false,
            started_at_ms: at,
            answered_at_ms: None,
            keys_heard: String::new(),
            transfer_status: None,
            ended: None,
            ended_at_ms: None,
            customer_id: None,
            interaction_id,
            conversation_id,
            wrap_up_due: false,
        }
    }

    /// The log of this call as it stands, for the hub: none until the call is answered and
    /// its customer known, since a call nobody talked on, or about nobody, has no place on a
    /// customer's timeline.
    pub fn log(&self) -> Option<(InteractionId, CallLog)> {
        let customer_id = self.customer_id.clone()?;
        let answered = self.answered_at_ms?;
        Some((
            self.interaction_id.clone(),
            CallLog {
                conversation_id: self.conversation_id.clone(),
                customer_id,
                direction: match self.direction {
                    CallDirection::Inbound => Direction::Inbound,
                    CallDirection::Outbound => Direction::Outbound,
                },
                remote_number: Some(self.number.clone()),
                started_at: rfc3339(self.started_at_ms),
                answered_at: Some(rfc3339(answered)),
                ended_at: self.ended_at_ms.map(rfc3339),
            },
        ))
    }

    /// Seconds from the answer to `now_ms`: the handle time a wrap-up reports.
    pub fn handle_seconds(&self, now_ms: f64) -> u32 {
        self.answered_at_ms
            .map_or(0.0, |answered| ((now_ms - answered) / 1_000.0).max(0.0))
            .round() as u32
    }

    /// Which moment the log is at now, once there is something to log.
    fn moment(&self) -> Option<CallMoment> {
        self.log()?;
        Some(if self.stage == CallStage::Ended {
            CallMoment::Ended
        } else {
            CallMoment::Answered
        })
    }
}

/// The interaction and conversation ids of the call with SIP id `call`: two FNV-1a digests of
/// it (64 bits each, so that two calls never share an id in practice), with the kinds'
/// prefixes. The same call always gets the same ids, so a log sent twice names one record.
fn ids_of(call: &str) -> (InteractionId, ConversationId) {
    let digest = |salt: u8| {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in std::iter::once(salt).chain(call.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash
    };
    let suffix = format!("call-{:016x}{:016x}", digest(1), digest(2));
    (
        InteractionId(format!("{}_{suffix}", InteractionId::PREFIX)),
        ConversationId(format!("{}_{suffix}", ConversationId::PREFIX)),
    )
}

/// Milliseconds since the Unix epoch as RFC 3339 in UTC, to the second.
fn rfc3339(ms: f64) -> String {
    let seconds = (ms / 1_000.0).floor() as i64;
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Whether the desk's phone can take calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PhoneLine {
    /// No `[phone]` in the settings.
    NotConfigured,
    /// Called directly, with no registrar: ready at this address.
    Direct {
        address: String,
    },
    Registering,
    Registered {
        expires_secs: u32,
    },
    /// The registrar refused the account: the settings need correcting.
    Refused {
        status: u16,
    },
    /// The registrar does not answer; the phone keeps trying.
    Unreachable,
    /// The phone stopped and removed its registration.
    Closed,
}

/// Every call the window shows, and the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CallBoard {
    pub line: PhoneLine,
    /// Oldest first.
    pub calls: Vec<CallView>,
}

impl Default for CallBoard {
    fn default() -> CallBoard {
        CallBoard {
            line: PhoneLine::NotConfigured,
            calls: Vec::new(),
        }
    }
}

impl CallBoard {
    /// Folds one of the phone's events, which happened at `now`, into the board. Returns the
    /// call whose log has something new to record (it was answered, or it ended after that),
    /// and which moment.
    pub fn apply(&mut self, event: PhoneEvent, now: SystemTime) -> Option<(String, CallMoment)> {
        let at = millis(now);
        let event = match event {
            PhoneEvent::Registration(registered) => {
                self.line = match registered {
                    Registered::Yes { expires } => PhoneLine::Registered {
                        expires_secs: expires,
                    },
                    Registered::Refused { status } => PhoneLine::Refused { status },
                    Registered::Unreachable => PhoneLine::Unreachable,
                    Registered::Unregistered => PhoneLine::Closed,
                };
                return None;
            }
            PhoneEvent::Call(event) => event,
        };
        let (call, logged) = match &event {
            CallEvent::Established { call } => (call.clone(), CallMoment::Answered),
            CallEvent::Ended { call, .. } => (call.clone(), CallMoment::Ended),
            _ => (String::new(), CallMoment::Answered),
        };
        let before = self.find(&call).and_then(CallView::moment);

        match event {
            CallEvent::Incoming {
                call,
                caller,
                display_name,
            } => {
                let mut view = CallView::new(call, CallDirection::Inbound, caller, at);
                view.display_name = display_name;
                self.calls.push(view);
            }
            CallEvent::Ringing { .. } | CallEvent::EarlyMedia { .. } => {}
            CallEvent::Established { call } => self.update(&call, |view| {
                view.stage = CallStage::Talking;
                view.answered_at_ms.get_or_insert(at);
            }),
            CallEvent::Held { call, by } => self.update(&call, |view| {
                view.stage = CallStage::Held;
                view.held_by_agent = by == Side::Local;
            }),
            CallEvent::Resumed { call, .. } => self.update(&call, |view| {
                view.stage = CallStage::Talking;
                view.held_by_agent = false;
            }),
            CallEvent::Dtmf { call, key } => self.update(&call, |view| view.keys_heard.push(key)),
            CallEvent::Transfer { call, status } => {
                self.update(&call, |view| view.transfer_status = Some(status))
            }
            CallEvent::Ended { call, reason, .. } => self.update(&call, |view| {
                view.stage = CallStage::Ended;
                view.ended = Some(describe(reason));
                view.ended_at_ms = Some(at);
                view.wrap_up_due = view.log().is_some();
            }),
        }

        let after = self.find(&call).and_then(CallView::moment);
        (after == Some(logged) && before != after).then_some((call, logged))
    }

    /// The call with SIP id `call`, if it is on the board.
    pub fn find(&self, call: &str) -> Option<&CallView> {
        self.calls.iter().find(|view| view.id == call)
    }

    /// Records a call this desk placed to `number`.
    pub fn dialled(&mut self, call: String, number: String, now: SystemTime) {
        self.calls.push(CallView::new(
            call,
            CallDirection::Outbound,
            number,
            millis(now),
        ));
    }

    /// Sets the customers a call's number points at; when exactly one, the call is theirs.
    /// Several are for the agent to choose from ([`CallBoard::link`]), never a silent pick.
    pub fn popped(&mut self, call: &str, customers: Vec<CustomerSummary>) {
        self.update(call, |view| {
            if let [only] = customers.as_slice() {
                view.customer_id.get_or_insert_with(|| only.id.clone());
            }
            view.customers = customers;
        });
    }

    /// Says up front whom a call the agent places is about and which conversation it
    /// continues; the agent's choice beats the number's screen pop.
    pub fn about(
        &mut self,
        call: &str,
        customer: Option<CustomerId>,
        conversation: Option<ConversationId>,
    ) {
        self.update(call, |view| {
            if customer.is_some() {
                view.customer_id = customer;
            }
            if let Some(conversation) = conversation {
                view.conversation_id = conversation;
            }
        });
    }

    /// The agent says whom the call is about. Returns the moment to log when the call was
    /// already answered (its log could not be written without its customer until now).
    ///
    /// A call already logged for a customer stays theirs: its interaction is on their
    /// timeline at the hub, which does not move interactions between customers.
    pub fn link(
        &mut self,
        call: &str,
        customer: CustomerId,
    ) -> Result<Option<CallMoment>, EngineError> {
        let view = self
            .calls
            .iter_mut()
            .find(|view| view.id == call)
            .ok_or_else(|| {
                EngineError::CallLog(format!("call {call} is no longer on the board"))
            })?;
        if view.customer_id.as_ref() == Some(&customer) {
            return Ok(None);
        }
        if view.log().is_some() {
            return Err(EngineError::CallLog(
                "this call is already on another customer's timeline; add a note there instead"
                    .to_owned(),
            ));
        }
        view.customer_id = Some(customer);
        if view.stage == CallStage::Ended {
            view.wrap_up_due = view.log().is_some();
        }
        Ok(view.moment())
    }

    /// Takes a call off the board once the agent wrapped it up; returns it as it was.
    pub fn wrapped_up(&mut self, call: &str) -> Option<CallView> {
        let index = self.calls.iter().position(|view| view.id == call)?;
        Some(self.calls.remove(index))
    }

    /// Whether any call is still ringing, dialling, talking or held.
    pub fn busy(&self) -> bool {
        self.calls.iter().any(|view| view.stage != CallStage::Ended)
    }

    /// Marks a call muted or not.
    pub fn muted(&mut self, call: &str, muted: bool) {
        self.update(call, |view| view.muted = muted);
    }

    /// The calls ringing now, oldest first.
    pub fn ringing(&self) -> impl Iterator<Item = &CallView> {
        self.calls
            .iter()
            .filter(|view| view.stage == CallStage::Ringing)
    }

    /// Drops calls that ended more than [`ENDED_SHOWN_FOR`] before `now`, but never one that
    /// waits for its wrap-up.
    pub fn forget_ended(&mut self, now: SystemTime) {
        let horizon = millis(now) - ENDED_SHOWN_FOR.as_millis() as f64;
        self.calls.retain(|view| {
            view.wrap_up_due || view.ended_at_ms.is_none_or(|ended| ended > horizon)
        });
    }

    /// When [`CallBoard::forget_ended`] will next have a call to drop, if ever.
    pub fn next_forgetting(&self) -> Option<SystemTime> {
        self.calls
            .iter()
            .filter(|view| !view.wrap_up_due)
            .filter_map(|view| view.ended_at_ms)
            .reduce(f64::min)
            .map(|ended| {
                let at = ended + ENDED_SHOWN_FOR.as_millis() as f64;
                SystemTime::UNIX_EPOCH + Duration::from_millis(at.max(0.0).ceil() as u64)
            })
    }

    fn update(&mut self, call: &str, change: impl FnOnce(&mut CallView)) {
        if let Some(view) = self.calls.iter_mut().find(|view| view.id == call) {
            change(view);
        }
    }
}

/// Why a call ended, as the agent reads it.
fn describe(reason: EndReason) -> String {
    match reason {
        EndReason::CallerCancelled => "The caller hung up before it was answered".to_owned(),
        EndReason::RemoteHungUp => "The other side hung up".to_owned(),
        EndReason::LocalHungUp => "You hung up".to_owned(),
        EndReason::Refused => "You declined it".to_owned(),
        EndReason::Failed(486) => "The line was busy".to_owned(),
        EndReason::Failed(status) => format!("It failed ({status})"),
        EndReason::TimedOut => "The other side stopped answering".to_owned(),
        EndReason::Transferred => "Transferred".to_owned(),
    }
}

fn millis(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| since.as_secs_f64() * 1_000.0)
        .unwrap_or_default()
}

/// What the desk's phone needs from the rest of the desk: who a number points at (the screen
/// pop, from the cache) and a place to log its calls (the customer's timeline, through the
/// outbox). The engine is one; tests bring their own.
pub trait CallJournal: Send + Sync {
    /// The customers `number` points at, read from the cache alone, in microseconds.
    fn screen_pop(&self, number: &str) -> Vec<CustomerSummary>;

    /// Records `call` as it stands at `moment`. Must not block: the phone's events wait.
    fn log_call(&self, call: &CallView, moment: CallMoment);
}

/// The desk's phone and its board; cheap to share behind an `Arc`.
pub struct DeskPhone {
    phone: Phone,
    board: watch::Sender<CallBoard>,
    journal: Arc<dyn CallJournal>,
}

impl std::fmt::Debug for DeskPhone {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DeskPhone")
            .field("phone", &self.phone)
            .finish_non_exhaustive()
    }
}

impl DeskPhone {
    /// Starts the phone, follows its events into the board, and registers when a registrar
    /// is set (a failed registration is shown on the line and retried by the phone). Every
    /// call that rings or is dialled is popped and logged through `journal`.
    pub async fn start(
        settings: PhoneSettings,
        devices: Arc<dyn AudioDevices>,
        journal: Arc<dyn CallJournal>,
    ) -> Result<Arc<DeskPhone>, EngineError> {
        let registers = settings.registrar.is_some();
        let phone = Phone::start(settings, devices).await?;
        let mut events = phone
            .events()
            .ok_or_else(|| EngineError::Settings("the phone's events were taken".to_owned()))?;
        let line = if registers {
            PhoneLine::Registering
        } else {
            PhoneLine::Direct {
                address: phone.address().to_string(),
            }
        };
        let board = watch::channel(CallBoard {
            line,
            calls: Vec::new(),
        })
        .0;
        let desk = Arc::new(DeskPhone {
            phone,
            board,
            journal,
        });

        let following = Arc::downgrade(&desk);
        tokio::spawn(async move {
            loop {
                // An ended call leaves the board when its time is up, not at the next call.
                let forgetting = match following.upgrade() {
                    Some(desk) => desk.board.borrow().next_forgetting(),
                    None => return,
                };
                let wait = forgetting.map(|at| {
                    at.duration_since(SystemTime::now())
                        .unwrap_or(Duration::ZERO)
                });
                let event = tokio::select! {
                    event = events.recv() => match event {
                        Some(event) => event,
                        None => return,
                    },
                    () = tokio::time::sleep(wait.unwrap_or(Duration::ZERO)), if wait.is_some() => {
                        let Some(desk) = following.upgrade() else {
                            return;
                        };
                        desk.board.send_if_modified(|board| {
                            let before = board.calls.len();
                            board.forget_ended(SystemTime::now());
                            board.calls.len() != before
                        });
                        continue;
                    }
                };
                let Some(desk) = following.upgrade() else {
                    return;
                };
                // The pop reads the cache's identity index: microseconds, so the ringing call
                // shows with its customer in the same change.
                let popped = match &event {
                    PhoneEvent::Call(CallEvent::Incoming { call, caller, .. }) => {
                        Some((call.clone(), desk.journal.screen_pop(caller)))
                    }
                    _ => None,
                };
                let mut logged = None;
                desk.board.send_modify(|board| {
                    let now = SystemTime::now();
                    board.forget_ended(now);
                    logged = board.apply(event, now);
                    if let Some((call, customers)) = popped {
                        board.popped(&call, customers);
                    }
                });
                if let Some((call, moment)) = logged {
                    desk.log(&call, moment);
                }
            }
        });
        if registers {
            let registering = Arc::clone(&desk);
            tokio::spawn(async move {
                if let Err(error) = registering.phone.register().await {
                    tracing::warn!(%error, "the desk's phone did not register");
                }
            });
        }
        Ok(desk)
    }

    /// The board now and every change after.
    pub fn board(&self) -> watch::Receiver<CallBoard> {
        self.board.subscribe()
    }

    pub async fn answer(&self, call: &str) -> Result<(), EngineError> {
        Ok(self.phone.answer(call).await?)
    }

    pub fn decline(&self, call: &str) -> Result<(), EngineError> {
        Ok(self.phone.decline(call, Refusal::Decline)?)
    }

    pub async fn hang_up(&self, call: &str) -> Result<(), EngineError> {
        Ok(self.phone.hang_up(call).await?)
    }

    pub async fn hold(&self, call: &str, hold: bool) -> Result<(), EngineError> {
        if hold {
            Ok(self.phone.hold(call).await?)
        } else {
            Ok(self.phone.resume(call).await?)
        }
    }

    pub fn mute(&self, call: &str, muted: bool) -> Result<(), EngineError> {
        self.phone.mute(call, muted)?;
        self.board.send_modify(|board| board.muted(call, muted));
        Ok(())
    }

    pub async fn send_keys(&self, call: &str, keys: &str) -> Result<(), EngineError> {
        Ok(self.phone.send_dtmf(call, keys).await?)
    }

    pub async fn transfer(&self, call: &str, target: &str) -> Result<(), EngineError> {
        Ok(self.phone.transfer(call, target).await?)
    }

    /// Says whom call `call` is about; a call already answered is logged for them at once.
    pub fn link(&self, call: &str, customer: CustomerId) -> Result<(), EngineError> {
        let mut linked = Ok(None);
        self.board
            .send_modify(|board| linked = board.link(call, customer));
        if let Some(moment) = linked? {
            self.log(call, moment);
        }
        Ok(())
    }

    /// Takes call `call` off the board once its wrap-up is written; returns it as it was.
    pub fn wrapped_up(&self, call: &str) -> Option<CallView> {
        let mut taken = None;
        self.board.send_if_modified(|board| {
            taken = board.wrapped_up(call);
            taken.is_some()
        });
        taken
    }

    fn log(&self, call: &str, moment: CallMoment) {
        let view = self.board.borrow().find(call).cloned();
        if let Some(view) = view {
            self.journal.log_call(&view, moment);
        }
    }

    /// Calls `number` (a SIP address, or a number at the registrar).
    pub async fn dial(&self, number: &str) -> Result<String, EngineError> {
        self.dial_about(number, None, None).await
    }

    /// Calls `number` about `customer`, in `conversation` when the call continues one (a chat
    /// that moves to a call keeps its history in one conversation).
    pub async fn dial_about(
        &self,
        number: &str,
        customer: Option<CustomerId>,
        conversation: Option<ConversationId>,
    ) -> Result<String, EngineError> {
        let call = self.phone.dial(number).await?;
        let customers = self.journal.screen_pop(number);
        self.board.send_modify(|board| {
            board.dialled(call.clone(), number.to_owned(), SystemTime::now());
            board.popped(&call, customers);
            board.about(&call, customer, conversation);
        });
        Ok(call)
    }

    /// Hangs up every call and stops the phone (the desk is closing).
    pub async fn stop(&self) {
        self.phone.stop().await;
    }
}

impl From<PhoneError> for EngineError {
    fn from(error: PhoneError) -> EngineError {
        EngineError::Phone(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
    }

    fn call(event: CallEvent) -> PhoneEvent {
        PhoneEvent::Call(event)
    }

    #[test]
    fn an_inbound_call_rings_is_talked_on_held_and_ends_with_its_reason() {
        let mut board = CallBoard::default();
        board.apply(
            call(CallEvent::Incoming {
                call: "c1".into(),
                caller: "+447700900123".into(),
                display_name: Some("Ada".into()),
            }),
            at(0),
        );
        assert_eq!(board.calls[0].stage, CallStage::Ringing, "a new call rings");
        assert_eq!(
            board.ringing().count(),
            1,
            "and counts as ringing for the alert"
        );
        assert_eq!(
            board.calls[0].number, "+447700900123",
            "with the caller's number"
        );

        board.apply(call(CallEvent::Established { call: "c1".into() }), at(3));
        assert_eq!(board.ringing().count(), 0, "an answered call rings no more");
        board.apply(
            call(CallEvent::Held {
                call: "c1".into(),
                by: Side::Remote,
            }),
            at(5),
        );
        assert_eq!(board.calls[0].stage, CallStage::Held);
        assert!(
            !board.calls[0].held_by_agent,
            "the customer held, not the agent"
        );
        board.apply(
            call(CallEvent::Resumed {
                call: "c1".into(),
                by: Side::Remote,
            }),
            at(6),
        );
        board.apply(
            call(CallEvent::Dtmf {
                call: "c1".into(),
                key: '4',
            }),
            at(7),
        );
        board.apply(
            call(CallEvent::Ended {
                call: "c1".into(),
                reason: EndReason::RemoteHungUp,
                talked: Duration::from_secs(6),
            }),
            at(9),
        );
        let view = &board.calls[0];
        assert_eq!(view.stage, CallStage::Ended);
        assert_eq!(
            view.keys_heard, "4",
            "the keys the customer pressed are kept"
        );
        assert_eq!(
            view.answered_at_ms
                .zip(view.ended_at_ms)
                .map(|(a, e)| e - a),
            Some(6_000.0),
            "answered at 3 s, ended at 9 s: six seconds of talk"
        );
        assert_eq!(view.ended.as_deref(), Some("The other side hung up"));

        assert_eq!(
            board.next_forgetting(),
            Some(at(19)),
            "ended at 9 s, the call is due to leave ten seconds later"
        );
        board.forget_ended(at(15));
        assert_eq!(
            board.calls.len(),
            1,
            "an ended call stays a while to be read"
        );
        board.forget_ended(at(20));
        assert!(board.calls.is_empty(), "and then leaves the board");
    }

    #[test]
    fn the_line_follows_the_registration_and_unknown_calls_change_nothing() {
        let mut board = CallBoard::default();
        board.apply(
            PhoneEvent::Registration(Registered::Yes { expires: 300 }),
            at(0),
        );
        assert_eq!(board.line, PhoneLine::Registered { expires_secs: 300 });
        board.apply(
            PhoneEvent::Registration(Registered::Refused { status: 403 }),
            at(1),
        );
        assert_eq!(
            board.line,
            PhoneLine::Refused { status: 403 },
            "a refusal shows"
        );

        let before = board.clone();
        board.apply(
            call(CallEvent::Established {
                call: "nobody".into(),
            }),
            at(2),
        );
        assert_eq!(
            board, before,
            "an event for a call not on the board is ignored"
        );
    }

    fn summary(id: u64, name: &str) -> CustomerSummary {
        CustomerSummary {
            id: CustomerId::from_number(id),
            display_name: name.to_owned(),
            company: None,
            primary_phone: None,
            primary_email: None,
        }
    }

    #[test]
    fn a_shared_number_waits_for_the_agent_to_link_the_call_before_it_is_logged() {
        let mut board = CallBoard::default();
        board.apply(
            call(CallEvent::Incoming {
                call: "c1".into(),
                caller: "+447700900123".into(),
                display_name: None,
            }),
            at(0),
        );
        board.popped("c1", vec![summary(1, "Ana"), summary(2, "Bo")]);
        assert_eq!(
            board.calls[0].customer_id, None,
            "two customers share the number; the desk does not pick one"
        );
        assert_eq!(
            board.apply(call(CallEvent::Established { call: "c1".into() }), at(2)),
            None,
            "an answered call about nobody yet has no log"
        );

        let linked = board
            .link("c1", CustomerId::from_number(2))
            .expect("the agent links the call");
        assert_eq!(
            linked,
            Some(CallMoment::Answered),
            "linking an answered call logs it at once"
        );
        let (id, log) = board.calls[0].log().expect("the call can be logged now");
        assert_eq!(log.customer_id, CustomerId::from_number(2));
        assert_eq!(log.answered_at.as_deref(), Some("2023-11-14T22:13:22Z"));
        assert!(
            id.as_str().starts_with("int_call-") && id.as_str().len() <= 64,
            "the id is one the hub accepts: {id}"
        );
        assert!(
            board.link("c1", CustomerId::from_number(1)).is_err(),
            "a logged call stays on its customer's timeline"
        );

        assert_eq!(
            board.apply(
                call(CallEvent::Ended {
                    call: "c1".into(),
                    reason: EndReason::RemoteHungUp,
                    talked: Duration::from_secs(8),
                }),
                at(10),
            ),
            Some(("c1".to_owned(), CallMoment::Ended)),
            "the end is logged"
        );
        board.forget_ended(at(600));
        assert!(
            board.calls[0].wrap_up_due,
            "a call waiting for its wrap-up is never forgotten"
        );
        assert_eq!(board.calls[0].handle_seconds(millis(at(62))), 60);
    }

    #[test]
    fn a_call_nobody_answered_is_not_logged_and_leaves_the_board() {
        let mut board = CallBoard::default();
        board.apply(
            call(CallEvent::Incoming {
                call: "c2".into(),
                caller: "+447700900123".into(),
                display_name: None,
            }),
            at(0),
        );
        board.popped("c2", vec![summary(1, "Ana")]);
        assert_eq!(
            board.calls[0].customer_id,
            Some(CustomerId::from_number(1)),
            "one customer: the call is theirs"
        );
        let ended = board.apply(
            call(CallEvent::Ended {
                call: "c2".into(),
                reason: EndReason::CallerCancelled,
                talked: Duration::ZERO,
            }),
            at(3),
        );
        assert_eq!(ended, None, "a missed call has no log of the desk's");
        assert!(!board.calls[0].wrap_up_due, "and nothing to wrap up");
        board.forget_ended(at(20));
        assert!(board.calls.is_empty());
    }
}
