//! RTP packets (RFC 3550): the fixed header, read and written. Packets arrive from whoever
//! knows the port, so reading checks every length before it trusts it.

/// The fixed part of an RTP header that a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Marks the first packet after silence, or of a DTMF event.
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    /// In samples of the payload's clock (8,000 a second for G.711 and telephone events).
    pub timestamp: u32,
    /// Who sent the packet; one source per call direction.
    pub ssrc: u32,
}

/// A packet read from the wire, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub header: Header,
    pub payload: &'a [u8],
}

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("an RTP packet is at least 12 bytes, this one is {0}")]
    TooShort(usize),
    #[error("RTP version {0} is not 2")]
    Version(u8),
    #[error("the packet's header, extension or padding runs past its end")]
    Truncated,
}

/// The fixed header's length.
const FIXED: usize = 12;

impl<'a> Packet<'a> {
    /// Reads `bytes` as an RTP packet: contributing sources and a header extension are
    /// skipped, padding is removed from the payload.
    pub fn parse(bytes: &'a [u8]) -> Result<Packet<'a>, RtpError> {
        if bytes.len() < FIXED {
            return Err(RtpError::TooShort(bytes.len()));
        }
        let version = bytes[0] >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let padded = bytes[0] & 0x20 != 0;
        let extended = bytes[0] & 0x10 != 0;
        let contributors = usize::from(bytes[0] & 0x0F);

        let mut start = FIXED + 4 * contributors;
        if extended {
            let length = bytes.get(start + 2..start + 4).ok_or(RtpError::Truncated)?;
            let words = usize::from(u16::from_be_bytes([length[0], length[1]]));
            start += 4 + 4 * words;
        }
        let mut end = bytes.len();
        if padded {
            let padding = usize::from(*bytes.last().ok_or(RtpError::Truncated)?);
            end = end.checked_sub(padding).ok_or(RtpError::Truncated)?;
        }
        if start > end || padded && end == bytes.len() {
            return Err(RtpError::Truncated);
        }

        Ok(Packet {
            header: Header {
                marker: bytes[1] & 0x80 != 0,
                payload_type: bytes[1] & 0x7F,
                sequence: u16::from_be_bytes([bytes[2], bytes[3]]),
                timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
                ssrc: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            },
            payload: &bytes[start..end],
        })
    }
}

impl Header {
    /// Writes this header and `payload` into `out`, replacing what it held.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(FIXED + payload.len());
        out.push(0x80);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_packet_reads_back() {
        let header = Header {
            marker: true,
            payload_type: 8,
            sequence: 65_535,
            timestamp: 4_000_000_000,
            ssrc: 0xDEAD_BEEF,
        };
        let mut bytes = Vec::new();
        header.write(&[1, 2, 3], &mut bytes);
        assert_eq!(
            Packet::parse(&bytes),
            Ok(Packet {
                header,
                payload: &[1, 2, 3]
            }),
            "what this side sends, its peer must read the same"
        );
    }

    #[test]
    fn sources_extensions_and_padding_are_stepped_over() {
        // One contributing source, a one-word extension, two bytes of payload, three of padding.
        let bytes = [
            0xB1, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, // fixed header: P, X, CC = 1
            0, 0, 0, 9, // contributing source
            0xBE, 0xDE, 0, 1, 0, 0, 0, 0, // extension header and its one word
            0xAA, 0xBB, // payload
            0, 0, 3, // padding, its count last
        ];
        let packet = Packet::parse(&bytes).expect("a valid packet");
        assert_eq!(
            packet.payload,
            &[0xAA, 0xBB],
            "only the payload is handed to the codec"
        );
    }

    #[test]
    fn lengths_that_lie_are_refused_not_trusted() {
        assert_eq!(Packet::parse(&[0x80; 5]), Err(RtpError::TooShort(5)));
        assert_eq!(
            Packet::parse(&[0x40; 12]),
            Err(RtpError::Version(1)),
            "only RTP version 2 is spoken"
        );
        let mut too_many_sources = vec![0x8F, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        too_many_sources.extend([0; 8]);
        assert_eq!(Packet::parse(&too_many_sources), Err(RtpError::Truncated));
        let mut long_extension = vec![0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        long_extension.extend([0xBE, 0xDE, 0xFF, 0xFF]);
        assert_eq!(Packet::parse(&long_extension), Err(RtpError::Truncated));
        let mut huge_padding = vec![0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA];
        huge_padding.push(200);
        assert_eq!(Packet::parse(&huge_padding), Err(RtpError::Truncated));
        let zero_padding = [0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA, 0];
        assert_eq!(
            Packet::parse(&zero_padding),
            Err(RtpError::Truncated),
            "a padding count of zero is malformed (the count byte itself is padding)"
        );
    }
}
