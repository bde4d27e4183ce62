//! The softphone's handle: the one object the engine and the window's shell hold. It opens the
//! SIP endpoint, registers and keeps the registration fresh, places and takes calls, and acts on
//! them by id (answer, decline, hang up, hold, resume, mute, keys, transfer), while everything
//! that happens comes out as one stream of [`PhoneEvent`]s.
//!
//! rsipstack holds the transaction and dialog layers; its types stay inside this crate. The
//! phone runs on the tokio runtime, not in the web view, so a call outlives a reload or a hidden
//! window.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsipstack::EndpointBuilder;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::DialogStateSender;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::Registration;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::Endpoint;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::audio::AudioDevices;
use crate::call::{Call, CallEvent, CallId, CallMedia, CallTiming, Refusal, Side, Way};
use crate::g711::Law;
use crate::media::{MediaPort, MediaStats};
use crate::sdp::{Direction, Session, TELEPHONE_EVENT};
use crate::signalling;

/// Why the phone could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error("cannot open the phone's port on {address}: {message}; another program may hold it")]
    Bind {
        address: SocketAddr,
        message: String,
    },
    #[error("{0:?} is not a SIP address; write it as sip:host or sip:user@host:port")]
    BadUri(String),
    #[error("no registrar or account is set; fill in the SIP settings")]
    NotConfigured,
    #[error(
        "the registrar refused the phone ({status}); check the SIP user and password in the \
         settings"
    )]
    Refused { status: u16 },
    #[error("the registrar did not answer ({0}); check its address and the network")]
    Unreachable(String),
    #[error("there is no call {0:?}; it may have ended")]
    NoSuchCall(String),
    #[error("the call cannot be {action} now: {reason}")]
    NotNow {
        action: &'static str,
        reason: &'static str,
    },
    #[error("{0:?} holds no key of a phone's keypad (0-9, *, #, A-D)")]
    BadKeys(String),
    #[error("the call could not be {action}: {message}")]
    Call {
        action: &'static str,
        message: String,
    },
}

/// What the phone tells: its calls' events, and the state of its registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneEvent {
    Call(CallEvent),
    /// The registrar took (or refused, or stopped answering) the phone's registration; while
    /// it is not registered, calls to the agent do not arrive.
    Registration(Registered),
}

/// The phone's registration as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// Registered for this many seconds; refreshed before they pass.
    Yes { expires: u32 },
    /// The registrar answered with this refusal.
    Refused { status: u16 },
    /// The registrar did not answer; the phone tries again.
    Unreachable,
    /// The phone stopped and removed its registration.
    Unregistered,
}

/// Which transport the phone speaks to its registrar, proxy and peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
}

/// The user and password the registrar knows the agent's phone by.
#[derive(Clone, PartialEq, Eq)]
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

/// How the phone is set up: the desk's settings file fills these in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneSettings {
    /// Where the phone takes SIP: an address of this machine; port 0 picks a free one.
    pub listen: SocketAddr,
    /// UDP is always open; with TCP the phone also listens for TCP on the same port and
    /// speaks TCP to its registrar and proxy.
    pub transport: Transport,
    /// The registrar, such as `sip:pbx.example.com:5060`; `None` for a phone called directly.
    pub registrar: Option<String>,
    pub account: Option<Account>,
    /// Where every call goes first (a proxy or session border controller), such as
    /// `127.0.0.1:5060`; `None` sends calls straight to their target.
    pub outbound_proxy: Option<SocketAddr>,
    /// The codecs offered and accepted, most wanted first.
    pub codecs: Vec<Law>,
    /// The registration's lifetime asked for, in seconds.
    pub register_expires: u32,
}

impl PhoneSettings {
    /// A phone on `listen` that calls and is called directly, with both G.711 laws.
    pub fn direct(listen: SocketAddr) -> PhoneSettings {
        PhoneSettings {
            listen,
            transport: Transport::Udp,
            registrar: None,
            account: None,
            outbound_proxy: None,
            codecs: vec![Law::Mu, Law::A],
            register_expires: 300,
        }
    }
}

/// The softphone; cheap to clone, every clone drives the same phone. It stops when the last
/// clone is dropped or [`Phone::stop`] is called.
#[derive(Clone)]
pub struct Phone {
    running: Arc<Running>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Phone")
            .field("address", &self.running.shared.address)
            .finish_non_exhaustive()
    }
}

/// What the running phone holds; its drop stops the endpoint and the phone's tasks.
struct Running {
    shared: Arc<Shared>,
    endpoint: Endpoint,
    events: Mutex<Option<mpsc::UnboundedReceiver<PhoneEvent>>>,
}

/// What the phone's handle and its background tasks share.
pub(crate) struct Shared {
    pub settings: PhoneSettings,
    pub address: SocketAddr,
    pub stop: CancellationToken,
    /// Cancelled when the phone begins to stop: the registration is removed before `stop`
    /// ends the endpoint.
    pub closing: CancellationToken,
    /// The task that keeps the registration fresh, which the stop waits for.
    pub registering: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pub dialogs: Arc<DialogLayer>,
    pub states: DialogStateSender,
    pub events: mpsc::UnboundedSender<PhoneEvent>,
    pub calls: Mutex<HashMap<CallId, Call>>,
    pub devices: Arc<dyn AudioDevices>,
}

impl Shared {
    pub fn emit(&self, event: CallEvent) {
        let _ = self.events.send(PhoneEvent::Call(event));
    }

    /// Runs `action` on the call `id` under the lock; never held across an await.
    pub fn with_call<T>(
        &self,
        id: &str,
        action: impl FnOnce(&mut Call) -> Result<T, PhoneError>,
    ) -> Result<T, PhoneError> {
        let mut calls = self.calls.lock().map_err(|_| PhoneError::NotNow {
            action: "reached",
            reason: "the phone's state is broken; restart the desk",
        })?;
        let call = calls
            .get_mut(id)
            .ok_or_else(|| PhoneError::NoSuchCall(id.to_owned()))?;
        action(call)
    }

    /// This phone's description of its audio on `port`, before any negotiation.
    pub fn local_session(&self, port: u16) -> Session {
        Session {
            address: self.address.ip(),
            port,
            codecs: self.settings.codecs.clone(),
            telephone_event: Some(TELEPHONE_EVENT),
            direction: Direction::SendRecv,
        }
    }

    /// The Contact this phone gives in its dialogs: the account's user at the phone's address,
    /// marked TCP when the phone speaks TCP so that requests within the call come that way.
    pub fn contact(&self) -> Result<rsipstack::sip::Uri, Box<rsipstack::Error>> {
        let user = self
            .settings
            .account
            .as_ref()
            .map_or_else(|| "switchboard".to_owned(), |account| account.user.clone());
        let mut contact = self
            .dialogs
            .build_local_contact(Some(user), None)
            .map_err(Box::new)?;
        if self.settings.transport == Transport::Tcp {
            contact.params.push(rsipstack::sip::Param::Transport(
                rsipstack::sip::Transport::Tcp,
            ));
        }
        Ok(contact)
    }

    /// The digest credential of the settings' account, for the registrar and the proxy.
    pub fn credential(&self) -> Option<Credential> {
        self.settings.account.as_ref().map(|account| Credential {
            username: account.user.clone(),
            password: account.password.clone(),
            realm: None,
            auth_username: None,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}

impl Phone {
    /// Opens the phone's endpoint and starts serving it; `devices` give each call its audio.
    pub async fn start(
        settings: PhoneSettings,
        devices: Arc<dyn AudioDevices>,
    ) -> Result<Phone, PhoneError> {
        let listen = settings.listen;
        let bind_failed = |error: rsipstack::Error| PhoneError::Bind {
            address: listen,
            message: error.to_string(),
        };
        let stop = CancellationToken::new();
        let transports = TransportLayer::new(stop.child_token());
        let udp = UdpConnection::create_connection(listen, None, Some(stop.child_token()))
            .await
            .map_err(bind_failed)?;
        let address = udp.get_addr().get_socketaddr().map_err(bind_failed)?;
        transports.add_transport(udp.into());
        if settings.transport == Transport::Tcp {
            // The listener binds when the endpoint serves; it takes the port UDP was given,
            // so one port number reaches the phone either way.
            let tcp = TcpListenerConnection::new(address, None)
                .await
                .map_err(bind_failed)?;
            transports.add_transport(tcp.into());
        }

        let endpoint = EndpointBuilder::new()
            .with_user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .with_cancel_token(stop.clone())
            .with_transport_layer(transports)
            .build();
        let incoming = endpoint.incoming_transactions().map_err(bind_failed)?;
        let serving = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(error) = serving.serve().await {
                tracing::warn!(%error, "the phone's SIP endpoint stopped");
            }
        });

        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (states, state_changes) = dialogs.new_dialog_state_channel();
        let (events, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            settings,
            address,
            stop,
            closing: CancellationToken::new(),
            registering: Mutex::new(None),
            dialogs,
            states,
            events,
            calls: Mutex::new(HashMap::new()),
            devices,
        });
        tokio::spawn(signalling::follow_states(
            Arc::clone(&shared),
            state_changes,
        ));
        tokio::spawn(signalling::take_requests(Arc::clone(&shared), incoming));

        tracing::info!(%address, "phone listening for SIP");
        Ok(Phone {
            running: Arc::new(Running {
                shared,
                endpoint,
                events: Mutex::new(Some(receiver)),
            }),
        })
    }

    /// The stream of the phone's events; there is one, so a second call returns `None`.
    pub fn events(&self) -> Option<mpsc::UnboundedReceiver<PhoneEvent>> {
        self.running.events.lock().ok()?.take()
    }

    /// Where the phone takes SIP.
    pub fn address(&self) -> SocketAddr {
        self.running.shared.address
    }

    /// Registers with the settings' registrar and account, answering its digest challenge,
    /// and keeps the registration fresh until the phone stops: it registers again at three
    /// quarters of the granted time and, when that fails, retries with a growing pause.
    /// Returns the granted expiry of the first registration.
    pub async fn register(&self) -> Result<u32, PhoneError> {
        let shared = &self.running.shared;
        let registrar = self.registrar_uri()?;
        let mut registration =
            Registration::new(self.running.endpoint.inner.clone(), shared.credential());
        if shared.settings.transport == Transport::Tcp {
            registration.contact = Some(self.contact_for_tcp()?);
        }
        let expires = register_once(shared, &mut registration, &registrar).await?;

        let refreshing = Arc::clone(shared);
        let task = tokio::spawn(async move {
            signalling::keep_registered(refreshing, registration, registrar, expires).await;
        });
        if let Ok(mut registering) = shared.registering.lock()
            && let Some(previous) = registering.replace(task)
        {
            previous.abort();
        }
        Ok(expires)
    }

    /// Calls `target` (such as `sip:+447700900123@pbx.example.com`, or a number when a
    /// registrar is set); the call's progress comes as events.
    pub async fn dial(&self, target: &str) -> Result<CallId, PhoneError> {
        let shared = &self.running.shared;
        let callee = self.target_uri(target)?;
        let port = MediaPort::bind(shared.address.ip())
            .await
            .map_err(|error| PhoneError::Bind {
                address: SocketAddr::new(shared.address.ip(), 0),
                message: error.to_string(),
            })?;
        let local = shared.local_session(port.port());
        let failed = |error: rsipstack::Error| PhoneError::Call {
            action: "placed",
            message: error.to_string(),
        };
        let contact = shared.contact().map_err(|error| failed(*error))?;
        let caller = match (&shared.settings.registrar, &shared.settings.account) {
            (Some(registrar), Some(account)) => {
                let mut uri = rsipstack::sip::Uri::try_from(registrar.as_str())
                    .map_err(|_| PhoneError::BadUri(registrar.clone()))?;
                uri.auth = Some(rsipstack::sip::Auth {
                    user: account.user.clone(),
                    password: None,
                });
                uri
            }
            _ => contact.clone(),
        };
        let started_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or(1);
        let options = rsipstack::dialog::invitation::InviteOption {
            caller,
            callee,
            contact,
            content_type: Some("application/sdp".to_owned()),
            offer: Some(local.to_sdp(started_at, 1).into_bytes()),
            credential: shared.credential(),
            destination: shared.settings.outbound_proxy.map(|proxy| {
                let mut address = rsipstack::transport::SipAddr::from(proxy);
                if shared.settings.transport == Transport::Tcp {
                    address.r#type = Some(rsipstack::sip::Transport::Tcp);
                }
                address
            }),
            ..Default::default()
        };

        // The call is known before its INVITE can be answered: the state task takes the same
        // lock before it looks the call up.
        let (call, answer) = {
            let mut calls = shared.calls.lock().map_err(|_| PhoneError::NotNow {
                action: "placed",
                reason: "the phone's state is broken; restart the desk",
            })?;
            let (dialog, answer) = shared
                .dialogs
                .do_invite_async(options, shared.states.clone())
                .map_err(failed)?;
            let call = dialog.id().call_id;
            calls.insert(call.clone(), Call::new(dialog, Way::Placed, local, port));
            (call, answer)
        };
        tracing::info!(%call, "call placed");

        // The final answer also arrives as a dialog state. The INVITE's own outcome is the
        // authority, though: it establishes the call if that state has not (confirming twice
        // changes nothing), and ends a call that failed before any answer (the target
        // unreachable), which no state reports.
        let watcher = Arc::clone(shared);
        let id = call.clone();
        tokio::spawn(async move {
            match answer.await {
                Ok(Ok((_, Some(response))))
                    if response.status_code.kind()
                        == rsipstack::sip::StatusCodeKind::Successful =>
                {
                    signalling::confirmed(&watcher, &id, &response.body);
                }
                Ok(Err(error)) => {
                    tracing::info!(call = %id, %error, "placed call failed");
                    signalling::finish(&watcher, &id, crate::call::EndReason::Failed(0));
                }
                _ => {}
            }
        });
        Ok(call)
    }

    /// Answers a ringing call: its audio starts with the agent's devices.
    pub async fn answer(&self, call: &str) -> Result<(), PhoneError> {
        let shared = &self.running.shared;
        let (dialog, body) = shared.with_call(call, |state| {
            if state.way != Way::Taken || state.answered.is_some() {
                return Err(PhoneError::NotNow {
                    action: "answered",
                    reason: "it is not a call ringing here",
                });
            }
            let offer = state.remote.as_ref().ok_or(PhoneError::NotNow {
                action: "answered",
                reason: "the caller described no audio",
            })?;
            state.local = state
                .local
                .answer(offer)
                .map_err(|error| PhoneError::Call {
                    action: "answered",
                    message: error.to_string(),
                })?;
            state.answered = Some(Instant::now());
            Ok((state.dialog.clone(), state.next_description()))
        })?;
        signalling::start_media(shared, call);
        dialog
            .accept(Some(vec![sdp_content_type()]), Some(body.into_bytes()))
            .map_err(|error| PhoneError::Call {
                action: "answered",
                message: error.to_string(),
            })
    }

    /// Refuses a ringing call as busy (486) or declined (603).
    pub fn decline(&self, call: &str, refusal: Refusal) -> Result<(), PhoneError> {
        let dialog = self.dialog(call)?;
        let status = match refusal {
            Refusal::Busy => StatusCode::BusyHere,
            Refusal::Decline => StatusCode::Decline,
        };
        dialog
            .reject(Some(status), None)
            .map_err(|error| PhoneError::Call {
                action: "refused",
                message: error.to_string(),
            })
    }

    /// Hangs up: CANCEL while a placed call rings, BYE once answered.
    pub async fn hang_up(&self, call: &str) -> Result<(), PhoneError> {
        let dialog = self.dialog(call)?;
        dialog.hangup().await.map_err(|error| PhoneError::Call {
            action: "hung up",
            message: error.to_string(),
        })
    }

    /// Puts the call on hold: the other side is told (a re-INVITE, send-only) and the two
    /// sides stop hearing each other.
    pub async fn hold(&self, call: &str) -> Result<(), PhoneError> {
        self.change_direction(call, Direction::SendOnly, "held")
            .await?;
        self.running.shared.emit(CallEvent::Held {
            call: call.to_owned(),
            by: Side::Local,
        });
        Ok(())
    }

    /// Takes the call off hold.
    pub async fn resume(&self, call: &str) -> Result<(), PhoneError> {
        self.change_direction(call, Direction::SendRecv, "resumed")
            .await?;
        self.running.shared.emit(CallEvent::Resumed {
            call: call.to_owned(),
            by: Side::Local,
        });
        Ok(())
    }

    /// Mutes (sends silence in place of) the agent's voice, or unmutes it. The other side is
    /// not told.
    pub fn mute(&self, call: &str, muted: bool) -> Result<(), PhoneError> {
        self.running.shared.with_call(call, |state| {
            state.muted = muted;
            if let CallMedia::Running(media) = &state.media {
                media.mute(muted);
            }
            Ok(())
        })
    }

    /// Sends `keys` (0-9, *, #, A-D) as RFC 4733 events in the audio, or as SIP INFO when the
    /// other side takes no events.
    pub async fn send_dtmf(&self, call: &str, keys: &str) -> Result<(), PhoneError> {
        if keys.is_empty() || keys.chars().any(|key| crate::dtmf::event_of(key).is_none()) {
            return Err(PhoneError::BadKeys(keys.to_owned()));
        }
        let shared = &self.running.shared;
        let info = shared.with_call(call, |state| {
            let events = state
                .stream()
                .is_some_and(|stream| stream.telephone_event.is_some());
            match &state.media {
                CallMedia::Running(media) if events => {
                    keys.chars().for_each(|key| media.press(key));
                    Ok(None)
                }
                CallMedia::Running(_) => Ok(Some(state.dialog.clone())),
                _ => Err(PhoneError::NotNow {
                    action: "sent keys",
                    reason: "it is not answered",
                }),
            }
        })?;
        if let Some(dialog) = info {
            for key in keys.chars() {
                let body = format!("Signal={key}\r\nDuration=100\r\n").into_bytes();
                dialog
                    .info(
                        Some(vec![Header::ContentType("application/dtmf-relay".into())]),
                        Some(body),
                    )
                    .await
                    .map_err(|error| PhoneError::Call {
                        action: "sent keys",
                        message: error.to_string(),
                    })?;
            }
        }
        Ok(())
    }

    /// Transfers the call to `target` without consulting it first (REFER): the other side
    /// calls the target, the progress comes as [`CallEvent::Transfer`] events, and this phone
    /// leaves the call once the target answers.
    pub async fn transfer(&self, call: &str, target: &str) -> Result<(), PhoneError> {
        let target_uri = self.target_uri(target)?;
        let dialog = self.running.shared.with_call(call, |state| {
            state.transferring = true;
            Ok(state.dialog.clone())
        })?;
        let refer_to = rsipstack::sip::ReferTo::new(format!("<{target_uri}>"));
        let answer = dialog.refer(refer_to, None, None).await;
        let status = match &answer {
            Ok(Some(response)) => u16::from(response.status_code.clone()),
            Ok(None) => 0,
            Err(_) => 0,
        };
        if (200..300).contains(&status) {
            return Ok(());
        }
        let _ = self.running.shared.with_call(call, |state| {
            state.transferring = false;
            Ok(())
        });
        Err(PhoneError::Call {
            action: "transferred",
            message: match answer {
                Err(error) => error.to_string(),
                Ok(_) if status == 0 => "the call is not established".to_owned(),
                Ok(_) => format!("the other side answered {status}"),
            },
        })
    }

    /// When the call began, was answered and how long it has lasted.
    pub fn timing(&self, call: &str) -> Result<CallTiming, PhoneError> {
        self.running
            .shared
            .with_call(call, |state| Ok(state.timing()))
    }

    /// What the call's media has counted, once its audio runs.
    pub fn stats(&self, call: &str) -> Result<Option<MediaStats>, PhoneError> {
        self.running
            .shared
            .with_call(call, |state| Ok(state.stats()))
    }

    /// The ids of the calls in progress.
    pub fn calls(&self) -> Vec<CallId> {
        self.running
            .shared
            .calls
            .lock()
            .map(|calls| calls.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Hangs every call up, removes the registration (waiting a few seconds at most for the
    /// registrar), and stops the endpoint.
    pub async fn stop(&self) {
        for call in self.calls() {
            let _ = self.hang_up(&call).await;
        }
        let shared = &self.running.shared;
        shared.closing.cancel();
        let registering = shared
            .registering
            .lock()
            .ok()
            .and_then(|mut registering| registering.take());
        if let Some(task) = registering
            && tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_err()
        {
            tracing::warn!("the registrar did not confirm the phone's unregistration in time");
        }
        shared.stop.cancel();
    }

    fn dialog(&self, call: &str) -> Result<InviteDialog, PhoneError> {
        self.running
            .shared
            .with_call(call, |state| Ok(state.dialog.clone()))
    }

    /// Sends a new description with this side's `direction` and follows the other side's
    /// answer.
    async fn change_direction(
        &self,
        call: &str,
        direction: Direction,
        action: &'static str,
    ) -> Result<(), PhoneError> {
        let shared = &self.running.shared;
        let (dialog, body, before) = shared.with_call(call, |state| {
            if !matches!(state.media, CallMedia::Running(_)) || state.answered.is_none() {
                return Err(PhoneError::NotNow {
                    action,
                    reason: "it is not answered",
                });
            }
            let before = state.local.direction;
            state.local.direction = direction;
            Ok((state.dialog.clone(), state.next_description(), before))
        })?;
        let answer = dialog
            .reinvite(Some(vec![sdp_content_type()]), Some(body.into_bytes()))
            .await;
        let described = match answer {
            Ok(Some(response))
                if response.status_code.kind() == rsipstack::sip::StatusCodeKind::Successful =>
            {
                signalling::session_of(&response.body).ok()
            }
            other => {
                let _ = shared.with_call(call, |state| {
                    state.local.direction = before;
                    Ok(())
                });
                return Err(PhoneError::Call {
                    action,
                    message: match other {
                        Err(error) => error.to_string(),
                        Ok(Some(response)) => {
                            format!("the other side answered {}", response.status_code)
                        }
                        Ok(None) => "the call is not established".to_owned(),
                    },
                });
            }
        };
        shared.with_call(call, |state| {
            if let Some(remote) = described {
                state.remote = Some(remote);
            }
            if let (CallMedia::Running(media), Some(stream)) = (&state.media, state.stream()) {
                media.update(stream);
            }
            Ok(())
        })
    }

    fn registrar_uri(&self) -> Result<rsipstack::sip::Uri, PhoneError> {
        let settings = &self.running.shared.settings;
        let registrar = settings
            .registrar
            .as_deref()
            .ok_or(PhoneError::NotConfigured)?;
        if settings.account.is_none() {
            return Err(PhoneError::NotConfigured);
        }
        let registrar = with_transport(registrar, settings.transport);
        rsipstack::sip::Uri::try_from(registrar.as_str()).map_err(|_| PhoneError::BadUri(registrar))
    }

    /// A target as a SIP URI: a full `sip:` address as it is, a bare number or user at the
    /// registrar's host.
    fn target_uri(&self, target: &str) -> Result<rsipstack::sip::Uri, PhoneError> {
        let settings = &self.running.shared.settings;
        let text = if target.starts_with("sip:") || target.starts_with("sips:") {
            target.to_owned()
        } else if let Some(registrar) = &settings.registrar {
            let host = registrar.trim_start_matches("sip:");
            let host = host.split(';').next().unwrap_or(host);
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("sip:{target}@{host}")
        } else {
            return Err(PhoneError::BadUri(target.to_owned()));
        };
        let text = with_transport(&text, settings.transport);
        rsipstack::sip::Uri::try_from(text.as_str())
            .map_err(|_| PhoneError::BadUri(target.to_owned()))
    }

    /// The Contact a TCP registration gives: the registrar reaches the phone over TCP.
    fn contact_for_tcp(&self) -> Result<rsipstack::sip::typed::Contact, PhoneError> {
        let shared = &self.running.shared;
        let user = shared
            .settings
            .account
            .as_ref()
            .map_or("switchboard", |account| account.user.as_str());
        let text = format!("sip:{user}@{};transport=tcp", shared.address);
        let uri =
            rsipstack::sip::Uri::try_from(text.as_str()).map_err(|_| PhoneError::BadUri(text))?;
        Ok(rsipstack::sip::typed::Contact {
            display_name: None,
            uri,
            params: Vec::new(),
        })
    }
}

/// Registers once; the granted expiry, or why not.
pub(crate) async fn register_once(
    shared: &Shared,
    registration: &mut Registration,
    registrar: &rsipstack::sip::Uri,
) -> Result<u32, PhoneError> {
    let answer = registration
        .register(registrar.clone(), Some(shared.settings.register_expires))
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            let _ = shared
                .events
                .send(PhoneEvent::Registration(Registered::Unreachable));
            return Err(PhoneError::Unreachable(error.to_string()));
        }
    };
    let status = u16::from(answer.status_code.clone());
    if !(200..300).contains(&status) {
        tracing::warn!(status, "registration refused");
        let _ = shared
            .events
            .send(PhoneEvent::Registration(Registered::Refused { status }));
        return Err(PhoneError::Refused { status });
    }
    let expires = registration.expires();
    tracing::info!(expires, "registered");
    let _ = shared
        .events
        .send(PhoneEvent::Registration(Registered::Yes { expires }));
    Ok(expires)
}

/// `uri` with `;transport=tcp` when the phone speaks TCP and the URI names no transport.
fn with_transport(uri: &str, transport: Transport) -> String {
    if transport == Transport::Tcp && !uri.to_ascii_lowercase().contains("transport=") {
        format!("{uri};transport=tcp")
    } else {
        uri.to_owned()
    }
}

pub(crate) fn sdp_content_type() -> Header {
    Header::ContentType("application/sdp".into())
}

/// How long after a failed refresh the phone tries again, growing to a minute.
pub(crate) fn retry_after(failures: u32) -> Duration {
    Duration::from_secs((1u64 << failures.min(6)).min(60))
}
