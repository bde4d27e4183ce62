//! RTCP basics (RFC 3550 §6): what a call's receiving side has seen (packets expected, lost,
//! the interarrival jitter), the sender report that tells the other side, and reading the
//! reports it sends back. Pure: the media loop does the sending.

/// What one side has received of the other's stream, kept as packets arrive.
#[derive(Debug, Clone, Default)]
pub struct Reception {
    /// The other side's source, once a packet arrived.
    pub source: Option<u32>,
    /// The first sequence number seen.
    base: u32,
    /// The highest sequence number seen, extended by the count of wrap-arounds.
    highest: u32,
    /// Packets that arrived (repeats included, as RFC 3550 counts them).
    pub received: u32,
    /// The interarrival jitter in timestamp units, scaled by 16 as the RFC's A.8 keeps it.
    jitter_scaled: u32,
    /// The transit time (arrival clock minus RTP timestamp) of the previous packet.
    transit: Option<i64>,
    /// `expected` and `received` at the last report, for the fraction lost since.
    expected_before: u32,
    received_before: u32,
}

impl Reception {
    /// Counts a packet with `sequence` and `timestamp` that arrived at `arrival`, in the
    /// stream's clock units (samples since any fixed moment).
    pub fn packet(&mut self, ssrc: u32, sequence: u16, timestamp: u32, arrival: u32) {
        if self.source != Some(ssrc) {
            // A new source (the other side restarted its stream) starts the count again.
            *self = Reception {
                source: Some(ssrc),
                base: u32::from(sequence),
                highest: u32::from(sequence),
                ..Reception::default()
            };
        }
        self.received = self.received.saturating_add(1);

        let cycles = self.highest & 0xFFFF_0000;
        let last = self.highest as u16;
        let delta = sequence.wrapping_sub(last);
        if delta != 0 && delta < 0x8000 {
            // Ahead of the highest: a wrap-around when the 16 bits went down.
            let cycles = if sequence < last {
                cycles.wrapping_add(0x1_0000)
            } else {
                cycles
            };
            self.highest = cycles | u32::from(sequence);
        }

        let transit = i64::from(arrival) - i64::from(timestamp);
        if let Some(previous) = self.transit {
            let difference = (transit - previous).unsigned_abs() as u32;
            // J += (|D| - J) / 16, kept scaled by 16 to stay in integers.
            let jitter = self.jitter_scaled;
            self.jitter_scaled = jitter
                .wrapping_add(difference)
                .wrapping_sub((jitter + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// Packets the sequence numbers say were sent.
    pub fn expected(&self) -> u32 {
        if self.source.is_none() {
            return 0;
        }
        self.highest.wrapping_sub(self.base).wrapping_add(1)
    }

    /// Packets that never arrived (never below zero, although repeats can outnumber losses).
    pub fn lost(&self) -> u32 {
        self.expected().saturating_sub(self.received)
    }

    /// The interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_scaled >> 4
    }

    /// The report block about this stream, which starts a new interval for the fraction lost.
    pub fn report(&mut self) -> Option<ReportBlock> {
        let source = self.source?;
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_before);
        let received_interval = self.received.wrapping_sub(self.received_before);
        self.expected_before = expected;
        self.received_before = self.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        let fraction_lost = lost_interval
            .saturating_mul(256)
            .checked_div(expected_interval)
            .map_or(0, |fraction| fraction.min(255) as u8);
        Some(ReportBlock {
            source,
            fraction_lost,
            cumulative_lost: self.lost().min(0x7F_FFFF),
            highest_sequence: self.highest,
            jitter: self.jitter(),
        })
    }
}

/// One report block: what a receiver says of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub source: u32,
    /// Lost since the last report, out of 256.
    pub fraction_lost: u8,
    pub cumulative_lost: u32,
    pub highest_sequence: u32,
    /// In timestamp units.
    pub jitter: u32,
}

/// What this side sent, for the sender report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub packets: u32,
    pub octets: u32,
    /// The RTP timestamp that corresponds to the report's moment.
    pub timestamp: u32,
}

/// A compound RTCP packet: a sender report (with a block about the other side when it has
/// sent anything) and the source description with `cname`, which every compound packet
/// carries.
pub fn sender_report(
    ssrc: u32,
    ntp: u64,
    sent: Sent,
    block: Option<ReportBlock>,
    cname: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    let count = u8::from(block.is_some());
    let words = 6 + 6 * usize::from(count);
    out.push(0x80 | count);
    out.push(200);
    out.extend_from_slice(&(words as u16).to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&ntp.to_be_bytes());
    out.extend_from_slice(&sent.timestamp.to_be_bytes());
    out.extend_from_slice(&sent.packets.to_be_bytes());
    out.extend_from_slice(&sent.octets.to_be_bytes());
    if let Some(block) = block {
        out.extend_from_slice(&block.source.to_be_bytes());
        out.push(block.fraction_lost);
        out.extend_from_slice(&block.cumulative_lost.to_be_bytes()[1..]);
        out.extend_from_slice(&block.highest_sequence.to_be_bytes());
        out.extend_from_slice(&block.jitter.to_be_bytes());
        // No sender report from the other side is tracked, so the delay fields stay zero,
        // which the RFC allows.
        out.extend_from_slice(&[0; 8]);
    }

    // SDES: one chunk, our source, its CNAME, an end item, padded to a word.
    let cname = &cname.as_bytes()[..cname.len().min(255)];
    let chunk = 4 + 2 + cname.len() + 1;
    let padded = chunk.div_ceil(4) * 4;
    out.push(0x81);
    out.push(202);
    out.extend_from_slice(&((padded / 4) as u16).to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(1);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname);
    out.resize(out.len() + padded - chunk + 1, 0);
    out
}

/// The report blocks in a compound RTCP packet (from its sender and receiver reports); other
/// packets are skipped, and a packet whose lengths do not add up yields what came before.
pub fn report_blocks(bytes: &[u8]) -> Vec<ReportBlock> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        if bytes[at] >> 6 != 2 {
            break;
        }
        let count = usize::from(bytes[at] & 0x1F);
        let kind = bytes[at + 1];
        let length = 4 * (usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])) + 1);
        let Some(packet) = bytes.get(at..at + length) else {
            break;
        };
        let first = match kind {
            200 => Some(28),
            201 => Some(8),
            _ => None,
        };
        if let Some(first) = first {
            for index in 0..count {
                let Some(block) = packet.get(first + 24 * index..first + 24 * (index + 1)) else {
                    break;
                };
                let word = |at: usize| {
                    u32::from_be_bytes([block[at], block[at + 1], block[at + 2], block[at + 3]])
                };
                blocks.push(ReportBlock {
                    source: word(0),
                    fraction_lost: block[4],
                    cumulative_lost: u32::from_be_bytes([0, block[5], block[6], block[7]]),
                    highest_sequence: word(8),
                    jitter: word(12),
                });
            }
        }
        at += length;
    }
    blocks
}

/// `time` since the Unix epoch as a 64-bit NTP timestamp (seconds since 1900, 32.32 fixed).
pub fn ntp_time(time: std::time::Duration) -> u64 {
    const SECONDS_1900_TO_1970: u64 = 2_208_988_800;
    let seconds = time.as_secs() + SECONDS_1900_TO_1970;
    let fraction = (u64::from(time.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_and_wrap_arounds_are_counted() {
        let mut reception = Reception::default();
        // 65,530 to 5 across the wrap, with 65,533 and 2 lost and 3 repeated.
        let mut sequence: u16 = 65_530;
        for step in 0..12u32 {
            if sequence != 65_533 && sequence != 2 {
                reception.packet(7, sequence, step * 160, step * 160);
            }
            if sequence == 3 {
                reception.packet(7, sequence, step * 160, step * 160);
            }
            sequence = sequence.wrapping_add(1);
        }
        assert_eq!(
            reception.expected(),
            12,
            "65,530 through 5 is twelve packets"
        );
        assert_eq!(
            reception.received, 11,
            "ten distinct arrivals and one repeat"
        );
        assert_eq!(
            reception.lost(),
            1,
            "two lost, one repeat offsets one, as RFC 3550 counts"
        );
        let block = reception.report().expect("a source was heard");
        assert_eq!(block.highest_sequence, 0x1_0005, "one wrap-around, then 5");
        assert_eq!(
            reception.jitter(),
            0,
            "packets that arrive on time have no jitter"
        );
    }

    #[test]
    fn jitter_grows_when_packets_arrive_unevenly() {
        let mut reception = Reception::default();
        for step in 0..50u32 {
            let wobble = if step % 2 == 0 { 0 } else { 80 };
            reception.packet(1, step as u16, step * 160, step * 160 + wobble);
        }
        assert!(
            (40..=80).contains(&reception.jitter()),
            "packets 10 ms early and late by turns approach 80 units of jitter, got {}",
            reception.jitter()
        );
    }

    #[test]
    fn a_sender_report_reads_back_its_block_and_is_word_aligned() {
        let block = ReportBlock {
            source: 0xDEAD_BEEF,
            fraction_lost: 12,
            cumulative_lost: 34,
            highest_sequence: 0x1_0005,
            jitter: 56,
        };
        let packet = sender_report(
            9,
            ntp_time(std::time::Duration::from_secs(1)),
            Sent::default(),
            Some(block),
            "agent@desk",
        );
        assert_eq!(packet.len() % 4, 0, "RTCP packets are whole 32-bit words");
        assert_eq!(
            report_blocks(&packet),
            vec![block],
            "the block survives the wire"
        );
        assert!(
            report_blocks(&packet[..20]).is_empty(),
            "a cut packet yields nothing rather than garbage"
        );
    }
}
