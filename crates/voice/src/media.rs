//! One call's audio over RTP: a task that, every 20 ms, sends a frame of the agent's source
//! (or a key press as RFC 4733 events) and plays a frame from the playout buffer into the
//! sink; that takes in the other side's packets as they come; and that exchanges RTCP
//! reports every five seconds on the next port up.
//!
//! RTP is symmetric: the task sends to wherever the other side's packets come from once one
//! has arrived, which is what gets audio through a NAT that rewrote the other side's address.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::audio::{AudioSink, AudioSource, FRAME};
use crate::dtmf::{self, Receiver as KeyReceiver, Step};
use crate::g711::Law;
use crate::jitter::{Frame, JitterBuffer, Pushed};
use crate::rtcp::{self, Reception, Sent};
use crate::rtp::{Header, Packet};
use crate::sdp::Direction;

/// Frames the playout buffer holds before it plays: 60 ms against the network's jitter.
const PLAYOUT_DELAY: u64 = 3;

/// How often each side reports on RTCP.
const REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// A key press lasts this many samples (100 ms), with a pause as long after it.
const PRESS: u16 = 800;

/// What the two sides agreed to exchange, and where to send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    /// Where the other side said it takes RTP; RTCP goes to the next port.
    pub remote: SocketAddr,
    pub law: Law,
    /// The payload type the other side takes RFC 4733 events on, if it does.
    pub telephone_event: Option<u8>,
    /// This side's direction: whether it sends and whether it plays what arrives.
    pub direction: Direction,
}

/// What the media loop has counted, for the call's quality and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets the other side's sequence numbers say never came.
    pub packets_lost: u64,
    /// Packets that came after their moment to play.
    pub packets_late: u64,
    /// The interarrival jitter, in milliseconds.
    pub jitter_ms: u32,
    /// What the other side last reported of our stream: lost out of 256.
    pub remote_fraction_lost: Option<u8>,
}

/// Something the media heard that the call must tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// The other side pressed a key (RFC 4733).
    Key(char),
}

enum Command {
    Update(Stream),
    Mute(bool),
    Press(char),
}

/// An RTP port pair, bound and not yet sending: what a call's session description offers.
#[derive(Debug)]
pub struct MediaPort {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

impl MediaPort {
    /// Binds an RTP port (even, as RFC 3550 asks) and RTCP on the next one, at `ip`.
    pub async fn bind(ip: IpAddr) -> std::io::Result<MediaPort> {
        let mut last_error = None;
        for _ in 0..32 {
            let rtp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
            let port = rtp.local_addr()?.port();
            if port % 2 != 0 || port == u16::MAX {
                continue;
            }
            match UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
                Ok(rtcp) => return Ok(MediaPort { rtp, rtcp }),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "no free even port with a free neighbour for RTP and RTCP",
            )
        }))
    }

    /// The RTP port, to put in the session description.
    pub fn port(&self) -> u16 {
        self.rtp
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0)
    }

    /// Starts the call's audio: `source` is sent, what arrives is played into `sink`, and
    /// key presses heard go to `heard`.
    pub fn start(
        self,
        stream: Stream,
        source: Box<dyn AudioSource>,
        sink: Box<dyn AudioSink>,
        heard: mpsc::UnboundedSender<Heard>,
    ) -> Media {
        let (commands, receiver) = mpsc::unbounded_channel();
        let stats = Arc::new(Mutex::new(MediaStats::default()));
        let task = tokio::spawn(
            Loop::new(self, stream, source, sink, heard, Arc::clone(&stats)).run(receiver),
        );
        Media {
            commands,
            stats,
            task,
        }
    }
}

/// A call's running audio; it stops when dropped.
#[derive(Debug)]
pub struct Media {
    commands: mpsc::UnboundedSender<Command>,
    stats: Arc<Mutex<MediaStats>>,
    task: tokio::task::JoinHandle<()>,
}

impl Media {
    /// Follows a new description from the other side (a re-INVITE, the answer after early
    /// media) or a new direction of this side (hold).
    pub fn update(&self, stream: Stream) {
        let _ = self.commands.send(Command::Update(stream));
    }

    /// Sends silence in place of the agent's voice while `muted`.
    pub fn mute(&self, muted: bool) {
        let _ = self.commands.send(Command::Mute(muted));
    }

    /// Sends `key` (0-9, *, #, A-D) as RFC 4733 events, after any presses still going.
    pub fn press(&self, key: char) {
        let _ = self.commands.send(Command::Press(key));
    }

    pub fn stats(&self) -> MediaStats {
        self.stats.lock().map(|stats| *stats).unwrap_or_default()
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The media task's state.
struct Loop {
    port: MediaPort,
    stream: Stream,
    /// Where RTP goes: the described address until the other side's packets show another.
    send_to: SocketAddr,
    latched: bool,
    source: Box<dyn AudioSource>,
    sink: Box<dyn AudioSink>,
    heard: mpsc::UnboundedSender<Heard>,
    stats: Arc<Mutex<MediaStats>>,

    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    sent: Sent,
    muted: bool,
    keys: std::collections::VecDeque<char>,
    /// The packets of the press being sent, and the ticks of pause left after it.
    press: std::collections::VecDeque<Step>,
    pause: u8,

    playout: JitterBuffer,
    keys_heard: KeyReceiver,
    reception: Reception,
    started: Instant,
    samples: Vec<i16>,
    bytes: Vec<u8>,
    packet: Vec<u8>,
}

impl Loop {
    fn new(
        port: MediaPort,
        stream: Stream,
        source: Box<dyn AudioSource>,
        sink: Box<dyn AudioSink>,
        heard: mpsc::UnboundedSender<Heard>,
        stats: Arc<Mutex<MediaStats>>,
    ) -> Loop {
        Loop {
            port,
            send_to: stream.remote,
            latched: false,
            stream,
            source,
            sink,
            heard,
            stats,
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
            sent: Sent::default(),
            muted: false,
            keys: Default::default(),
            press: Default::default(),
            pause: 0,
            playout: JitterBuffer::new(PLAYOUT_DELAY),
            keys_heard: KeyReceiver::default(),
            reception: Reception::default(),
            started: Instant::now(),
            samples: vec![0; FRAME],
            bytes: Vec::with_capacity(FRAME),
            packet: Vec::with_capacity(FRAME + 12),
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        // A tick missed while the machine was busy is made up at once: the other side's
        // playout expects a frame every 20 ms on average.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut report = tokio::time::interval(REPORT_INTERVAL);
        let mut datagram = [0u8; 2048];
        let mut control = [0u8; 1500];

        loop {
            tokio::select! {
                _ = tick.tick() => {
                    self.send_frame().await;
                    self.play_frame();
                }
                received = self.port.rtp.recv_from(&mut datagram) => {
                    if let Ok((length, from)) = received {
                        self.receive(&datagram[..length], from);
                    }
                }
                received = self.port.rtcp.recv_from(&mut control) => {
                    if let Ok((length, _)) = received {
                        self.receive_report(&control[..length]);
                    }
                }
                _ = report.tick() => self.send_report().await,
                command = commands.recv() => match command {
                    Some(Command::Update(stream)) => self.update(stream),
                    Some(Command::Mute(muted)) => self.muted = muted,
                    Some(Command::Press(key)) => self.keys.push_back(key),
                    None => break,
                },
            }
        }
    }

    fn update(&mut self, stream: Stream) {
        if stream.remote != self.stream.remote {
            // A new address in the description is where the other side now wants RTP.
            self.send_to = stream.remote;
            self.latched = false;
        }
        self.stream = stream;
    }

    async fn send_frame(&mut self) {
        let timestamp = self.timestamp;
        self.timestamp = self.timestamp.wrapping_add(FRAME as u32);
        self.source.read(&mut self.samples);
        if !self.stream.direction.sends() || self.send_to.port() == 0 {
            return;
        }

        if self.press.is_empty() && self.pause == 0 {
            self.next_press(timestamp);
        }
        let (header, payload): (Header, &[u8]) = if let Some(step) = self.press.pop_front() {
            if self.press.is_empty() {
                self.pause = (PRESS / FRAME as u16) as u8;
            }
            self.bytes.clear();
            self.bytes.extend_from_slice(&step.event.to_bytes());
            let header = Header {
                marker: step.marker,
                payload_type: self.stream.telephone_event.unwrap_or(dtmf_fallback()),
                sequence: self.sequence,
                timestamp: step.timestamp,
                ssrc: self.ssrc,
            };
            (header, &self.bytes)
        } else {
            self.pause = self.pause.saturating_sub(1);
            if self.muted {
                self.samples.fill(0);
            }
            self.bytes.clear();
            self.stream.law.encode(&self.samples, &mut self.bytes);
            let header = Header {
                marker: false,
                payload_type: self.stream.law.payload_type(),
                sequence: self.sequence,
                timestamp,
                ssrc: self.ssrc,
            };
            (header, &self.bytes)
        };
        header.write(payload, &mut self.packet);
        self.sequence = self.sequence.wrapping_add(1);
        self.sent.packets = self.sent.packets.wrapping_add(1);
        self.sent.octets = self.sent.octets.wrapping_add(payload.len() as u32);
        self.sent.timestamp = timestamp;
        if self
            .port
            .rtp
            .send_to(&self.packet, self.send_to)
            .await
            .is_ok()
            && let Ok(mut stats) = self.stats.lock()
        {
            stats.packets_sent += 1;
        }
    }

    /// Lays out the next queued key press, when the other side takes events.
    fn next_press(&mut self, timestamp: u32) {
        while let Some(key) = self.keys.pop_front() {
            match (dtmf::event_of(key), self.stream.telephone_event) {
                (Some(event), Some(_)) => {
                    self.press.extend(dtmf::press(event, timestamp, PRESS));
                    return;
                }
                _ => tracing::debug!("a key press the other side cannot take was dropped"),
            }
        }
    }

    fn play_frame(&mut self) {
        let frame = self.playout.pop();
        let plays = self.stream.direction.receives();
        match frame {
            Frame::Audio(payload) if plays => {
                self.samples.clear();
                self.stream.law.decode(&payload, &mut self.samples);
                self.samples.resize(FRAME, 0);
            }
            _ => {
                // A missing frame, a buffer still filling or a call on hold plays silence.
                self.samples.clear();
                self.samples.resize(FRAME, 0);
            }
        }
        self.sink.write(&self.samples);
    }

    fn receive(&mut self, datagram: &[u8], from: SocketAddr) {
        let Ok(packet) = Packet::parse(datagram) else {
            return;
        };
        let header = packet.header;
        let audio = header.payload_type == self.stream.law.payload_type();
        let event = Some(header.payload_type) == self.stream.telephone_event;
        if !audio && !event {
            return;
        }
        if !self.latched {
            self.send_to = from;
            self.latched = true;
        }

        let arrival = (self.started.elapsed().as_micros() * 8 / 1_000) as u32;
        self.reception
            .packet(header.ssrc, header.sequence, header.timestamp, arrival);
        let mut late = false;
        if audio {
            late = self.playout.push(header.sequence, packet.payload) == Pushed::Late;
        } else if let Some(event) = dtmf::Event::parse(packet.payload)
            && let Some(key) = self.keys_heard.receive(header.timestamp, event)
        {
            let _ = self.heard.send(Heard::Key(key));
        }
        if let Ok(mut stats) = self.stats.lock() {
            stats.packets_received += 1;
            stats.packets_late += u64::from(late);
            stats.packets_lost = u64::from(self.reception.lost());
            stats.jitter_ms = self.reception.jitter() / 8;
        }
    }

    fn receive_report(&mut self, datagram: &[u8]) {
        let ours = rtcp::report_blocks(datagram)
            .into_iter()
            .find(|block| block.source == self.ssrc);
        if let Some(block) = ours
            && let Ok(mut stats) = self.stats.lock()
        {
            stats.remote_fraction_lost = Some(block.fraction_lost);
        }
    }

    async fn send_report(&mut self) {
        if self.send_to.port() == 0 {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let report = rtcp::sender_report(
            self.ssrc,
            rtcp::ntp_time(now),
            self.sent,
            self.reception.report(),
            "switchboard",
        );
        let control = SocketAddr::new(self.send_to.ip(), self.send_to.port().wrapping_add(1));
        let _ = self.port.rtcp.send_to(&report, control).await;
    }
}

/// The payload type for events when the other side named none; never used to send, since
/// presses are dropped then, but keeps the header total.
fn dtmf_fallback() -> u8 {
    crate::sdp::TELEPHONE_EVENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{Recording, Tone};

    async fn pair(direction: Direction) -> (MediaPort, MediaPort, Stream, Stream) {
        let ip: IpAddr = "127.0.0.1".parse().expect("loopback");
        let left = MediaPort::bind(ip).await.expect("a port pair");
        let right = MediaPort::bind(ip).await.expect("a port pair");
        let stream = |port: &MediaPort| Stream {
            remote: SocketAddr::new(ip, port.port()),
            law: Law::A,
            telephone_event: Some(101),
            direction,
        };
        let (to_right, to_left) = (stream(&right), stream(&left));
        (left, right, to_right, to_left)
    }

    /// Waits until `recording` holds `length` samples: the media clock, not a timer, says
    /// when; the timeout only guards against a hang.
    async fn until_len(recording: &Recording, length: usize) {
        tokio::time::timeout(Duration::from_secs(10), recording.until_len(length))
            .await
            .expect("the audio kept flowing");
    }

    #[tokio::test]
    async fn two_loops_hear_each_others_tones_and_keys() {
        let (left, right, to_right, to_left) = pair(Direction::SendRecv).await;
        let (left_heard, mut left_keys) = mpsc::unbounded_channel();
        let (right_heard, mut right_keys) = mpsc::unbounded_channel();
        let (left_recording, right_recording) = (Recording::new(), Recording::new());
        let left = left.start(
            to_right,
            Box::new(Tone::new(1_000.0)),
            left_recording.sink(),
            left_heard,
        );
        let right = right.start(
            to_left,
            Box::new(Tone::new(1_500.0)),
            right_recording.sink(),
            right_heard,
        );

        until_len(&left_recording, 8_000).await;
        until_len(&right_recording, 8_000).await;
        let heard_left = left_recording.samples();
        let heard_right = right_recording.samples();
        assert!(
            crate::tone::presence(&heard_right[4_000..], 1_000.0, 8_000.0) > 0.8,
            "the right side hears the left's 1 kHz tone"
        );
        assert!(
            crate::tone::presence(&heard_left[4_000..], 1_500.0, 8_000.0) > 0.8,
            "the left side hears the right's 1.5 kHz tone"
        );

        left.press('7');
        left.press('#');
        let first = tokio::time::timeout(Duration::from_secs(5), right_keys.recv()).await;
        let second = tokio::time::timeout(Duration::from_secs(5), right_keys.recv()).await;
        assert_eq!(
            (first.ok().flatten(), second.ok().flatten()),
            (Some(Heard::Key('7')), Some(Heard::Key('#'))),
            "each press is heard once, in order"
        );
        assert!(
            left_keys.try_recv().is_err(),
            "nobody pressed a key on the right"
        );
        assert_eq!(right.stats().packets_lost, 0, "nothing is lost on loopback");
    }

    #[tokio::test]
    async fn muting_sends_silence_and_hold_stops_playing() {
        let (left, right, to_right, to_left) = pair(Direction::SendRecv).await;
        let (heard, _keys) = mpsc::unbounded_channel();
        let recording = Recording::new();
        let left = left.start(
            to_right,
            Box::new(Tone::new(1_000.0)),
            Box::new(crate::audio::Silence),
            heard.clone(),
        );
        let _right = right.start(
            to_left,
            Box::new(crate::audio::Silence),
            recording.sink(),
            heard,
        );

        until_len(&recording, 4_000).await;
        left.mute(true);
        let muted_from = recording.samples().len() + 800;
        until_len(&recording, muted_from + 4_000).await;
        let samples = recording.samples();
        assert!(
            crate::tone::presence(&samples[muted_from..], 1_000.0, 8_000.0) < 0.05,
            "a muted agent is not heard"
        );

        left.mute(false);
        left.update(Stream {
            direction: Direction::Inactive,
            ..to_right
        });
        let sent = left.stats().packets_sent;
        until_len(&recording, muted_from + 12_000).await;
        assert!(
            left.stats().packets_sent <= sent + 1,
            "a side that does not send sends nothing"
        );
    }
}
