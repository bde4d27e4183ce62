//! The playout buffer of one incoming audio stream: packets go in as the network delivers them
//! (late, out of order, twice, or not at all) and frames come out one per 20 ms tick, in order,
//! after a short fixed delay that absorbs the network's jitter.

use std::collections::BTreeMap;

/// What the buffer made of an arriving packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Accepted,
    /// Its frame is already buffered.
    Duplicate,
    /// Its frame's moment to play has passed; it is dropped.
    Late,
    /// The stream jumped (the sender restarted, or resumed from hold): playout starts again
    /// from this packet.
    Resynchronised,
}

/// What to play at one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Not enough buffered yet to start; play silence.
    Waiting,
    /// The frame due now.
    Audio(Vec<u8>),
    /// The frame due now never arrived; conceal it.
    Missing,
}

/// A playout buffer; see the module's documentation.
#[derive(Debug)]
pub struct JitterBuffer {
    /// Frames buffered before playout starts: the delay, in 20 ms ticks.
    delay: u64,
    /// Frames by extended sequence number (the 16-bit one, unwrapped).
    frames: BTreeMap<u64, Vec<u8>>,
    /// The extended sequence number of the newest packet seen.
    newest: Option<u64>,
    /// The frame to play at the next tick, once playout runs.
    next: Option<u64>,
}

/// How far ahead of playout a packet may be before the stream counts as having jumped; also
/// the most frames the buffer holds (a second of audio).
const WINDOW: u64 = 50;

impl JitterBuffer {
    /// A buffer that holds `delay` frames (20 ms each) before it starts to play.
    pub fn new(delay: u64) -> JitterBuffer {
        JitterBuffer {
            delay: delay.clamp(1, WINDOW / 2),
            frames: BTreeMap::new(),
            newest: None,
            next: None,
        }
    }

    /// Takes in a packet's payload with its RTP sequence number.
    pub fn push(&mut self, sequence: u16, payload: &[u8]) -> Pushed {
        let extended = self.extend(sequence);
        self.newest = Some(self.newest.map_or(extended, |newest| newest.max(extended)));

        if let Some(next) = self.next {
            if extended < next {
                return if next - extended > WINDOW {
                    self.restart(extended, payload)
                } else {
                    Pushed::Late
                };
            }
            if extended - next >= WINDOW {
                return self.restart(extended, payload);
            }
        }
        if self.frames.contains_key(&extended) {
            return Pushed::Duplicate;
        }
        self.frames.insert(extended, payload.to_vec());
        // Without playout running yet, only the newest second is worth keeping.
        while self.frames.len() as u64 > WINDOW {
            self.frames.pop_first();
        }
        Pushed::Accepted
    }

    /// The frame to play now; call once every 20 ms.
    pub fn pop(&mut self) -> Frame {
        let next = match self.next {
            Some(next) => next,
            None => {
                let Some((&first, _)) = self.frames.first_key_value() else {
                    return Frame::Waiting;
                };
                let newest = self.newest.unwrap_or(first);
                if newest + 1 - first < self.delay {
                    return Frame::Waiting;
                }
                first
            }
        };
        self.next = Some(next + 1);
        match self.frames.remove(&next) {
            Some(payload) => Frame::Audio(payload),
            None => Frame::Missing,
        }
    }

    /// Frames waiting to be played.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// `sequence` unwrapped to the extended number nearest the newest one seen.
    fn extend(&self, sequence: u16) -> u64 {
        let Some(newest) = self.newest else {
            // Far from zero, so that a stream that starts near the wrap can still go back.
            return (1 << 32) + u64::from(sequence);
        };
        let delta = i64::from(sequence.wrapping_sub(newest as u16) as i16);
        newest.saturating_add_signed(delta)
    }

    fn restart(&mut self, extended: u64, payload: &[u8]) -> Pushed {
        self.frames.clear();
        self.frames.insert(extended, payload.to_vec());
        self.newest = Some(extended);
        self.next = None;
        Pushed::Resynchronised
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn played(buffer: &mut JitterBuffer, ticks: usize) -> Vec<Frame> {
        (0..ticks).map(|_| buffer.pop()).collect()
    }

    #[test]
    fn reordered_packets_play_in_order_after_the_delay() {
        let mut buffer = JitterBuffer::new(3);
        assert_eq!(buffer.pop(), Frame::Waiting, "nothing arrived yet");
        buffer.push(11, b"b");
        buffer.push(10, b"a");
        assert_eq!(
            buffer.pop(),
            Frame::Waiting,
            "two frames are less than the delay of three"
        );
        buffer.push(12, b"c");
        assert_eq!(
            played(&mut buffer, 3),
            vec![
                Frame::Audio(b"a".to_vec()),
                Frame::Audio(b"b".to_vec()),
                Frame::Audio(b"c".to_vec())
            ],
            "frames play in sequence order, not arrival order"
        );
    }

    #[test]
    fn a_lost_packet_is_concealed_and_a_late_or_repeated_one_dropped() {
        let mut buffer = JitterBuffer::new(2);
        buffer.push(1, b"1");
        buffer.push(3, b"3");
        assert_eq!(buffer.push(3, b"3"), Pushed::Duplicate);
        assert_eq!(
            played(&mut buffer, 3),
            vec![
                Frame::Audio(b"1".to_vec()),
                Frame::Missing,
                Frame::Audio(b"3".to_vec())
            ],
            "a gap plays as a missing frame at its own moment"
        );
        assert_eq!(
            buffer.push(2, b"2"),
            Pushed::Late,
            "a frame whose moment passed must not be played out of place"
        );
        assert!(buffer.is_empty(), "a late frame is not kept");
    }

    #[test]
    fn sequence_numbers_wrap_without_a_hiccup() {
        let mut buffer = JitterBuffer::new(2);
        for sequence in [65_534, 65_535, 0, 1] {
            assert_eq!(buffer.push(sequence, &[sequence as u8]), Pushed::Accepted);
        }
        assert_eq!(
            played(&mut buffer, 4),
            vec![
                Frame::Audio(vec![254]),
                Frame::Audio(vec![255]),
                Frame::Audio(vec![0]),
                Frame::Audio(vec![1])
            ],
            "0 follows 65535"
        );
    }

    #[test]
    fn a_jump_restarts_playout_and_the_buffer_stays_bounded() {
        let mut buffer = JitterBuffer::new(1);
        buffer.push(100, b"x");
        assert_eq!(buffer.pop(), Frame::Audio(b"x".to_vec()));
        assert_eq!(
            buffer.push(30_000, b"y"),
            Pushed::Resynchronised,
            "a stream that jumps far ahead starts again rather than play seconds of silence"
        );
        assert_eq!(buffer.pop(), Frame::Audio(b"y".to_vec()));

        let mut flooded = JitterBuffer::new(25);
        for sequence in 0..1_000_u16 {
            flooded.push(sequence, &[0; 160]);
        }
        assert!(
            flooded.len() as u64 <= WINDOW,
            "a peer that floods packets must not grow the buffer past a second"
        );
    }
}
