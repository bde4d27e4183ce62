//! DTMF as RFC 4733 telephone events: a key press travels as RTP packets of its own payload
//! type, so that it survives codecs that would smear the tones, and an IVR at the far end
//! hears exactly the digit the agent pressed.

/// The keys of a telephone keypad, as RFC 4733 numbers them.
pub fn event_of(key: char) -> Option<u8> {
    match key {
        '0'..='9' => Some(key as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(key as u8 - b'A' + 12),
        'a'..='d' => Some(key as u8 - b'a' + 12),
        _ => None,
    }
}

/// The key an event number stands for.
pub fn key_of(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub event: u8,
    /// Set on the packets that end the event.
    pub end: bool,
    /// The tone's level below 0 dBm0 (0 to 63); 10 is a usual press.
    pub volume: u8,
    /// How long the event has lasted so far, in timestamp units (8,000 a second).
    pub duration: u16,
}

impl Event {
    pub fn to_bytes(self) -> [u8; 4] {
        let duration = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3F),
            duration[0],
            duration[1],
        ]
    }

    /// Reads a payload; `None` when it is too short to be one.
    pub fn parse(payload: &[u8]) -> Option<Event> {
        let bytes: &[u8; 4] = payload.get(..4)?.try_into().ok()?;
        Some(Event {
            event: bytes[0],
            end: bytes[1] & 0x80 != 0,
            volume: bytes[1] & 0x3F,
            duration: u16::from_be_bytes([bytes[2], bytes[3]]),
        })
    }
}

/// One packet of a key press, as [`press`] lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Set on the first packet of the press only.
    pub marker: bool,
    /// Every packet of one press carries the timestamp of its start.
    pub timestamp: u32,
    pub event: Event,
}

/// Samples in the 20 ms between two packets of a press.
const STEP: u16 = 160;

/// The packets of one press of `event` lasting `duration` samples, starting at `timestamp`:
/// one every 20 ms with the duration so far, then the end packet three times, so that losing
/// one or two does not leave the key held down at the far end.
pub fn press(event: u8, timestamp: u32, duration: u16) -> Vec<Step> {
    let duration = duration.max(STEP);
    let mut steps = Vec::new();
    let mut elapsed = STEP;
    while elapsed < duration {
        steps.push(Step {
            marker: steps.is_empty(),
            timestamp,
            event: Event {
                event,
                end: false,
                volume: 10,
                duration: elapsed,
            },
        });
        elapsed = elapsed.saturating_add(STEP);
    }
    for _ in 0..3 {
        steps.push(Step {
            marker: steps.is_empty(),
            timestamp,
            event: Event {
                event,
                end: true,
                volume: 10,
                duration,
            },
        });
    }
    steps
}

/// Turns received telephone events into key presses, each reported once however many of
/// its packets arrive (or are repeated).
#[derive(Debug, Default)]
pub struct Receiver {
    /// The timestamp of the press last reported, which all its packets share.
    reported: Option<u32>,
}

impl Receiver {
    /// The key pressed, the first time a packet of a new press arrives.
    pub fn receive(&mut self, timestamp: u32, event: Event) -> Option<char> {
        if self.reported == Some(timestamp) {
            return None;
        }
        self.reported = Some(timestamp);
        key_of(event.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_its_event_and_back() {
        for key in "0123456789*#ABCD".chars() {
            let event = event_of(key).expect("every keypad key has an event");
            assert_eq!(key_of(event), Some(key), "{key} must come back as itself");
        }
        assert_eq!(event_of('x'), None, "only keypad keys are sent");
        assert_eq!(key_of(16), None, "events past the keypad are not keys");
    }

    #[test]
    fn a_press_starts_marked_grows_and_ends_three_times() {
        let steps = press(5, 1_000, 800);
        assert!(steps[0].marker, "the first packet is marked");
        assert!(
            steps[1..].iter().all(|step| !step.marker),
            "only the first is"
        );
        assert!(
            steps.iter().all(|step| step.timestamp == 1_000),
            "one press shares the timestamp of its start"
        );
        let ends: Vec<&Step> = steps.iter().filter(|step| step.event.end).collect();
        assert_eq!(ends.len(), 3, "the end is repeated against loss");
        assert!(ends.iter().all(|step| step.event.duration == 800));
        let durations: Vec<u16> = steps
            .iter()
            .filter(|step| !step.event.end)
            .map(|step| step.event.duration)
            .collect();
        assert_eq!(
            durations,
            vec![160, 320, 480, 640],
            "durations grow by 20 ms"
        );
    }

    #[test]
    fn a_payload_reads_back_and_a_press_is_heard_once() {
        let event = Event {
            event: 11,
            end: true,
            volume: 10,
            duration: 1_600,
        };
        assert_eq!(Event::parse(&event.to_bytes()), Some(event));
        assert_eq!(Event::parse(&[1, 2]), None, "a short payload is no event");

        let mut receiver = Receiver::default();
        let mut heard = String::new();
        for step in press(1, 160, 480).into_iter().chain(press(11, 960, 480)) {
            heard.extend(receiver.receive(step.timestamp, step.event));
        }
        assert_eq!(heard, "1#", "each press is one key, whatever its packets");
    }
}
