//! The session descriptions a call's two sides exchange (RFC 4566, offer/answer per RFC 3264),
//! reduced to what an audio call needs: where to send RTP, which codecs, whether DTMF travels
//! as RFC 4733 events, and the direction that says a call is on hold.
//!
//! Parsing is lenient about what it does not use (other media, attributes it does not know)
//! and strict about what it does: a description without an address or an audio port is
//! refused, since a call could not send its audio anywhere.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::g711::Law;

/// Which way audio flows, as one side sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    /// This side sends, but will not listen: it put the call on hold.
    SendOnly,
    /// This side listens only: the other side put it on hold.
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answer takes to an offer made with `self`: a side that only sends is
    /// answered by one that only receives.
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// Whether this side sends audio.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side plays what it receives.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// The dynamic payload type Switchboard offers for RFC 4733 telephone events.
pub const TELEPHONE_EVENT: u8 = 101;

/// One side's audio session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Where this side receives RTP.
    pub address: IpAddr,
    pub port: u16,
    /// Codecs in order of preference.
    pub codecs: Vec<Law>,
    /// The payload type of RFC 4733 events, when this side takes them.
    pub telephone_event: Option<u8>,
    pub direction: Direction,
}

/// Why a session description cannot carry a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("the session description has no connection address for its audio")]
    NoAddress,
    #[error("the session description offers no audio stream")]
    NoAudio,
    #[error("the other side offers no codec Switchboard speaks (it speaks PCMU and PCMA)")]
    NoCommonCodec,
    #[error("the session description has an unreadable line: {0:?}")]
    BadLine(String),
}

impl Session {
    /// The description text, with `origin_version` as the version in its `o=` line (it must
    /// grow with each new offer in a dialog, such as a hold).
    pub fn to_sdp(&self, session_id: u64, origin_version: u64) -> String {
        let family = match self.address {
            IpAddr::V4(_) => "IP4",
            IpAddr::V6(_) => "IP6",
        };
        let mut payloads: Vec<u8> = self.codecs.iter().map(|law| law.payload_type()).collect();
        payloads.extend(self.telephone_event);
        let payloads: Vec<String> = payloads.iter().map(u8::to_string).collect();

        let mut text = String::new();
        let _ = write!(
            text,
            "v=0\r\no=switchboard {session_id} {origin_version} IN {family} {address}\r\n\
             s=-\r\nc=IN {family} {address}\r\nt=0 0\r\nm=audio {port} RTP/AVP {payloads}\r\n",
            address = self.address,
            port = self.port,
            payloads = payloads.join(" "),
        );
        for law in &self.codecs {
            let name = match law {
                Law::Mu => "PCMU",
                Law::A => "PCMA",
            };
            let _ = write!(text, "a=rtpmap:{} {name}/8000\r\n", law.payload_type());
        }
        if let Some(event) = self.telephone_event {
            let _ = write!(
                text,
                "a=rtpmap:{event} telephone-event/8000\r\na=fmtp:{event} 0-16\r\n"
            );
        }
        let _ = write!(text, "a=ptime:20\r\na={}\r\n", self.direction.attribute());
        text
    }

    /// Reads the first audio stream of a description.
    pub fn parse(text: &str) -> Result<Session, SdpError> {
        let mut session_address = None;
        let mut session_direction = None;
        let mut audio: Option<AudioLines> = None;
        // Inside a stream that is not audio (video before the audio, say), whose lines are
        // neither the session's nor the audio's.
        let mut other_stream = false;

        for line in text.lines().map(str::trim_end) {
            let Some((kind, value)) = line.split_once('=') else {
                if line.is_empty() {
                    continue;
                }
                return Err(SdpError::BadLine(line.to_owned()));
            };
            match (kind, &mut audio) {
                ("m", None) if value.starts_with("audio ") => {
                    audio = Some(AudioLines::from_media_line(value, line)?);
                }
                ("m", None) => other_stream = true,
                (_, None) if other_stream => {}
                // A second stream, audio or not, is not this call's; stop at it.
                ("m", Some(_)) => break,
                ("c", None) => session_address = Some(connection_address(value, line)?),
                ("c", Some(lines)) => lines.address = Some(connection_address(value, line)?),
                ("a", Some(lines)) => lines.attribute(value),
                // Session-level direction applies to every stream that does not say its own.
                ("a", None) => session_direction = direction_of(value).or(session_direction),
                _ => {}
            }
        }

        let mut lines = audio.ok_or(SdpError::NoAudio)?;
        lines.direction = lines.direction.or(session_direction);
        let address = lines
            .address
            .or(session_address)
            .ok_or(SdpError::NoAddress)?;
        lines.into_session(address)
    }

    /// This side's answer to `offer`: the offer's codecs that this side also speaks, in the
    /// offer's order, events when both take them, and the answering direction.
    pub fn answer(&self, offer: &Session) -> Result<Session, SdpError> {
        let codecs: Vec<Law> = offer
            .codecs
            .iter()
            .copied()
            .filter(|law| self.codecs.contains(law))
            .collect();
        if codecs.is_empty() {
            return Err(SdpError::NoCommonCodec);
        }
        Ok(Session {
            address: self.address,
            port: self.port,
            codecs,
            telephone_event: self.telephone_event.and(offer.telephone_event),
            direction: offer.direction.answer(),
        })
    }
}

/// An audio stream's lines, gathered while reading.
struct AudioLines {
    port: u16,
    payloads: Vec<u8>,
    address: Option<IpAddr>,
    event: Option<u8>,
    direction: Option<Direction>,
}

impl AudioLines {
    fn from_media_line(value: &str, line: &str) -> Result<AudioLines, SdpError> {
        let bad = || SdpError::BadLine(line.to_owned());
        let mut fields = value.split_whitespace().skip(1);
        let port = fields
            .next()
            .and_then(|port| port.split('/').next())
            .and_then(|port| port.parse().ok())
            .ok_or_else(bad)?;
        let _profile = fields.next().ok_or_else(bad)?;
        let payloads = fields.filter_map(|field| field.parse().ok()).collect();
        Ok(AudioLines {
            port,
            payloads,
            address: None,
            event: None,
            direction: None,
        })
    }

    fn attribute(&mut self, value: &str) {
        if let Some(direction) = direction_of(value) {
            self.direction = Some(direction);
        } else if let Some(map) = value.strip_prefix("rtpmap:") {
            let mut fields = map.split_whitespace();
            let payload = fields.next().and_then(|payload| payload.parse().ok());
            let name = fields.next().unwrap_or_default();
            if let Some(payload) = payload
                && name
                    .to_ascii_lowercase()
                    .starts_with("telephone-event/8000")
            {
                self.event = Some(payload);
            }
        }
    }

    fn into_session(self, address: IpAddr) -> Result<Session, SdpError> {
        // PCMU and PCMA have static payload types; a peer may omit their rtpmap lines.
        let codecs = self
            .payloads
            .iter()
            .filter_map(|payload| match payload {
                0 => Some(Law::Mu),
                8 => Some(Law::A),
                _ => None,
            })
            .collect();
        let telephone_event = self.event.filter(|event| self.payloads.contains(event));
        Ok(Session {
            address,
            port: self.port,
            codecs,
            telephone_event,
            direction: self.direction.unwrap_or(Direction::SendRecv),
        })
    }
}

fn direction_of(value: &str) -> Option<Direction> {
    match value {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    }
}

fn connection_address(value: &str, line: &str) -> Result<IpAddr, SdpError> {
    let mut fields = value.split_whitespace();
    let (_network, _family, address) = (fields.next(), fields.next(), fields.next());
    address
        .and_then(|address| address.split('/').next())
        .and_then(|address| address.parse().ok())
        .ok_or_else(|| SdpError::BadLine(line.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Session {
        Session {
            address: "127.0.0.1".parse().expect("an address"),
            port: 40_000,
            codecs: vec![Law::Mu, Law::A],
            telephone_event: Some(TELEPHONE_EVENT),
            direction: Direction::SendRecv,
        }
    }

    #[test]
    fn what_we_write_we_read_back() {
        let text = ours().to_sdp(7, 1);
        assert!(text.ends_with("\r\n"), "SDP lines end in CRLF");
        assert_eq!(
            Session::parse(&text),
            Ok(ours()),
            "a description must survive being written and read"
        );
    }

    #[test]
    fn a_peers_offer_is_read_and_answered() {
        // As baresip offers a call, with a video stream this desk does not take.
        let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                     m=video 20004 RTP/AVP 98\r\nc=IN IP4 10.9.9.9\r\na=inactive\r\n\
                     m=audio 20000 RTP/AVP 8 0 96 101\r\na=rtpmap:96 opus/48000/2\r\n\
                     a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n\
                     m=video 20002 RTP/AVP 97\r\na=recvonly\r\n";
        let offer = Session::parse(offer).expect("the offer is read");
        assert_eq!(offer.port, 20_000);
        assert_eq!(
            offer.address.to_string(),
            "127.0.0.1",
            "another stream's connection line is not the audio's"
        );
        assert_eq!(
            offer.codecs,
            vec![Law::A, Law::Mu],
            "the peer's order is kept and codecs we do not speak are dropped"
        );
        assert_eq!(offer.telephone_event, Some(101));
        assert_eq!(
            offer.direction,
            Direction::SendOnly,
            "the video stream's direction must not be taken for the audio's"
        );

        let answer = ours().answer(&offer).expect("there is a common codec");
        assert_eq!(
            answer.direction,
            Direction::RecvOnly,
            "a call put on hold by the peer is answered as receive-only"
        );
        assert_eq!(
            answer.codecs[0],
            Law::A,
            "the answer follows the offer's preference"
        );
    }

    #[test]
    fn descriptions_that_cannot_carry_a_call_are_refused() {
        let held =
            Session::parse("v=0\r\nc=IN IP4 10.0.0.1\r\na=inactive\r\nm=audio 5000 RTP/AVP 0\r\n")
                .expect("a description with a session-level direction is readable");
        assert_eq!(
            held.direction,
            Direction::Inactive,
            "a session-level direction holds for a stream that states none"
        );
        let no_audio = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 5000 RTP/AVP 97\r\n";
        assert_eq!(Session::parse(no_audio), Err(SdpError::NoAudio));
        let no_address = "v=0\r\nm=audio 5000 RTP/AVP 0\r\n";
        assert_eq!(Session::parse(no_address), Err(SdpError::NoAddress));
        let opus_only = Session::parse("v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 5000 RTP/AVP 96\r\n")
            .expect("an opus-only offer is readable");
        assert_eq!(
            ours().answer(&opus_only),
            Err(SdpError::NoCommonCodec),
            "an offer without G.711 cannot be answered"
        );
        assert!(
            matches!(Session::parse("garbage"), Err(SdpError::BadLine(_))),
            "a line that is not type=value is refused"
        );
    }
}
