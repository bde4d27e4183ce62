//! What the phone tells about its calls (typed events, the reasons a call ends, its timing) and
//! what it keeps about each call while it lasts: the dialog, the two sides' descriptions, the
//! running media, hold and mute. The rules that turn descriptions into a media stream live here
//! too, pure, so that they are tested without a network.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use rsipstack::dialog::invite_dialog::InviteDialog;

use crate::media::{Media, MediaPort, MediaStats, Stream};
use crate::sdp::{Direction, Session};

/// A call's id: its SIP Call-ID, the same in every event of one call.
pub type CallId = String;

/// What happens to the phone's calls, in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A call arrives and rings (the caller hears ringing); answer or decline it.
    Incoming {
        call: CallId,
        /// Who calls: the user part of P-Asserted-Identity when the network vouches for it,
        /// else of From. This is the number a screen pop looks up.
        caller: String,
        /// The name the caller's side gave, if any; untrusted text.
        display_name: Option<String>,
    },
    /// A call this phone placed rings at the other end.
    Ringing { call: CallId },
    /// A call this phone placed plays audio before it is answered (a ring-back tone or an
    /// announcement), which the agent hears.
    EarlyMedia { call: CallId },
    /// Both sides talk.
    Established { call: CallId },
    /// The call is on hold, put there by `by`.
    Held { call: CallId, by: Side },
    /// The call is off hold again.
    Resumed { call: CallId, by: Side },
    /// The other side pressed a key.
    Dtmf { call: CallId, key: char },
    /// How a transfer this phone asked for goes, as the other side reports it: 100 while the
    /// new call is tried, 200 when it was answered, an error status when it failed.
    Transfer { call: CallId, status: u16 },
    /// The call is over.
    Ended {
        call: CallId,
        reason: EndReason,
        /// How long the two sides talked; zero for a call never answered.
        talked: Duration,
    },
}

/// Which side did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The agent, through this phone.
    Local,
    /// The other party.
    Remote,
}

/// Why a call ended, told from this side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The caller gave up while it rang.
    CallerCancelled,
    /// The other side hung up.
    RemoteHungUp,
    /// This side hung up (or cancelled a call it placed).
    LocalHungUp,
    /// This side refused it (busy or declined).
    Refused,
    /// The other side refused or failed it, with this status (486 is busy).
    Failed(u16),
    /// The other side stopped answering.
    TimedOut,
    /// The call went to the transfer's target and this phone left it.
    Transferred,
}

/// How this side refuses a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 486: the agent is on another call.
    Busy,
    /// 603: the agent declined it.
    Decline,
}

/// When a call began, was answered, and ended: what handle time and wrap-up are built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTiming {
    /// When it arrived or was placed (wall clock, for records).
    pub started_at: SystemTime,
    /// From arrival or dialling to the answer.
    pub rang: Option<Duration>,
    /// From the answer to now, or to the end.
    pub talked: Duration,
    /// Whether it has ended.
    pub ended: bool,
}

/// Which way a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Way {
    Taken,
    Placed,
}

/// The media of a call: a port waiting for the descriptions, then the running loop.
#[derive(Debug)]
pub(crate) enum CallMedia {
    Waiting(MediaPort),
    Running(Media),
    Stopped,
}

/// What the phone keeps about one call.
pub(crate) struct Call {
    pub dialog: InviteDialog,
    pub way: Way,
    /// The other side's last description (the offer of a call taken, the answer of one
    /// placed), once known.
    pub remote: Option<Session>,
    /// This side's description as last sent; its direction says whether the agent holds.
    pub local: Session,
    /// The origin's version, raised with every new description this side sends.
    pub version: u64,
    pub media: CallMedia,
    pub muted: bool,
    pub held_by_remote: bool,
    pub transferring: bool,
    /// Announced as established (later confirmations of the dialog announce nothing).
    pub established: bool,
    pub started: Instant,
    pub started_at: SystemTime,
    pub answered: Option<Instant>,
    pub ended: Option<Instant>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Call")
            .field("way", &self.way)
            .field("local", &self.local)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl Call {
    pub fn new(dialog: InviteDialog, way: Way, local: Session, port: MediaPort) -> Call {
        Call {
            dialog,
            way,
            remote: None,
            local,
            version: 1,
            media: CallMedia::Waiting(port),
            muted: false,
            held_by_remote: false,
            transferring: false,
            established: false,
            started: Instant::now(),
            started_at: SystemTime::now(),
            answered: None,
            ended: None,
        }
    }

    pub fn timing(&self) -> CallTiming {
        let end = self.ended.unwrap_or_else(Instant::now);
        CallTiming {
            started_at: self.started_at,
            rang: self.answered.map(|answered| answered - self.started),
            talked: self
                .answered
                .map(|answered| end.saturating_duration_since(answered))
                .unwrap_or_default(),
            ended: self.ended.is_some(),
        }
    }

    /// The media stream the two descriptions agree on, if the other side's is known.
    pub fn stream(&self) -> Option<Stream> {
        let remote = self.remote.as_ref()?;
        Some(stream_of(&self.local, remote, self.held_by_remote))
    }

    pub fn stats(&self) -> Option<MediaStats> {
        match &self.media {
            CallMedia::Running(media) => Some(media.stats()),
            _ => None,
        }
    }

    /// Takes this side's description for the next offer or answer, with a new version.
    pub fn next_description(&mut self) -> String {
        self.version += 1;
        self.local.to_sdp(self.started_at_seconds(), self.version)
    }

    /// The description's session id: fixed for the call, from the moment it began.
    pub fn started_at_seconds(&self) -> u64 {
        self.started_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or(1)
    }
}

/// The stream to run from this side's description and the other side's.
///
/// Audio goes where the other side's description says, in the first codec of the other
/// side's list that this side speaks (the answerer keeps the offer's order). This side sends
/// only when both descriptions allow it; and while the agent holds (this side's description
/// is send-only) it sends nothing, as no hold music is configured.
pub(crate) fn stream_of(local: &Session, remote: &Session, held_by_remote: bool) -> Stream {
    let law = remote
        .codecs
        .iter()
        .copied()
        .find(|law| local.codecs.contains(law))
        .unwrap_or(crate::g711::Law::Mu);
    let agent_holds = matches!(local.direction, Direction::SendOnly | Direction::Inactive);
    let sends = !agent_holds && local.direction.sends() && remote.direction.receives();
    let plays = !agent_holds && local.direction.receives() && remote.direction.sends();
    let direction = match (sends && !held_by_remote, plays) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    };
    Stream {
        remote: SocketAddr::new(remote.address, remote.port),
        law,
        telephone_event: remote
            .telephone_event
            .filter(|_| local.telephone_event.is_some()),
        direction,
    }
}

/// Whether a description from the other side puts the call on hold: it will not receive
/// (send-only or inactive), or it points its audio nowhere (the old 0.0.0.0 convention).
pub(crate) fn holds(remote: &Session) -> bool {
    !remote.direction.receives() || remote.address.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::Law;

    fn session(direction: Direction, codecs: Vec<Law>, port: u16) -> Session {
        Session {
            address: "127.0.0.1".parse().expect("an address"),
            port,
            codecs,
            telephone_event: Some(101),
            direction,
        }
    }

    #[test]
    fn a_plain_call_sends_and_plays_in_the_other_sides_first_common_codec() {
        let local = session(Direction::SendRecv, vec![Law::Mu, Law::A], 4_000);
        let remote = session(Direction::SendRecv, vec![Law::A, Law::Mu], 5_000);
        let stream = stream_of(&local, &remote, false);
        assert_eq!(stream.direction, Direction::SendRecv);
        assert_eq!(
            stream.law,
            Law::A,
            "the other side's preference among common codecs"
        );
        assert_eq!(
            stream.remote.port(),
            5_000,
            "audio goes where the other side listens"
        );
        assert_eq!(
            stream.telephone_event,
            Some(101),
            "both take key presses as events"
        );
    }

    #[test]
    fn hold_either_way_stops_what_it_must() {
        let mut local = session(Direction::SendOnly, vec![Law::Mu], 4_000);
        let remote = session(Direction::RecvOnly, vec![Law::Mu], 5_000);
        assert_eq!(
            stream_of(&local, &remote, false).direction,
            Direction::Inactive,
            "while the agent holds, the customer hears nothing of the desk and the agent \
             hears nothing of the customer"
        );

        local.direction = Direction::RecvOnly;
        let remote = session(Direction::SendOnly, vec![Law::Mu], 5_000);
        assert!(
            holds(&remote),
            "a send-only offer is the other side holding"
        );
        assert_eq!(
            stream_of(&local, &remote, true).direction,
            Direction::RecvOnly,
            "held by the other side, the desk sends nothing and plays their hold music"
        );
        assert!(
            !holds(&session(Direction::SendRecv, vec![Law::Mu], 5_000)),
            "send-receive is no hold"
        );
    }
}
