//! G.711 (ITU-T Rec. G.711), the codec every SIP peer speaks: each 16-bit sample becomes one
//! byte on a logarithmic scale, so that quiet speech keeps its detail. μ-law is North America's
//! and Japan's form, A-law everyone else's; both are pure functions.

/// Added to a μ-law magnitude before it is encoded, so that every segment starts on a power
/// of two.
const MU_BIAS: i32 = 0x84;

/// The largest magnitude μ-law represents; louder samples are clipped to it.
const MU_CLIP: i32 = 32_635;

/// The position of the highest set bit of a positive `value`.
fn highest_bit(value: i32) -> i32 {
    31 - value.leading_zeros() as i32
}

/// Encodes one sample as μ-law.
pub fn mu_law_encode(sample: i16) -> u8 {
    let sample = i32::from(sample);
    let sign = if sample < 0 { 0x80 } else { 0 };
    let magnitude = sample.abs().min(MU_CLIP) + MU_BIAS;

    // The bias puts every magnitude at bit 7 or above; bits 7 to 14 are the eight segments.
    let exponent = highest_bit(magnitude) - 7;
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;

    // Every bit is inverted on the wire, so that silence is not a run of zero bytes.
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one μ-law byte.
pub fn mu_law_decode(byte: u8) -> i16 {
    let byte = i32::from(!byte);
    let exponent = (byte >> 4) & 0x07;
    let mantissa = byte & 0x0F;
    let magnitude = (((mantissa << 3) + MU_BIAS) << exponent) - MU_BIAS;
    let sample = if byte & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    };
    sample as i16
}

/// Encodes one sample as A-law.
pub fn a_law_encode(sample: i16) -> u8 {
    let sample = i32::from(sample);

    // A-law's sign bit is set for positive samples, and negative ones are shifted by one, so
    // that both halves have the same 4,096 steps.
    let (sign, magnitude) = if sample >= 0 {
        (0x80, sample)
    } else {
        (0x00, -sample - 1)
    };

    // The first segment is linear; each one after it covers twice the range of the one before.
    let (exponent, mantissa) = if magnitude < 256 {
        (0, (magnitude >> 4) & 0x0F)
    } else {
        let exponent = highest_bit(magnitude) - 7;
        (exponent, (magnitude >> (exponent + 3)) & 0x0F)
    };

    // Every other bit is inverted on the wire (0x55).
    ((sign | (exponent << 4) | mantissa) ^ 0x55) as u8
}

/// Decodes one A-law byte.
pub fn a_law_decode(byte: u8) -> i16 {
    let byte = i32::from(byte ^ 0x55);
    let exponent = (byte >> 4) & 0x07;
    let mantissa = byte & 0x0F;

    // Each code decodes to the middle of the range it stands for.
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    let sample = if byte & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    sample as i16
}

/// Which of the two laws a call's RTP carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// PCMU, RTP payload type 0.
    Mu,
    /// PCMA, RTP payload type 8.
    A,
}

impl Law {
    /// The static RTP payload type of this law (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Mu => 0,
            Law::A => 8,
        }
    }

    /// Encodes `samples` into `bytes`, one byte per sample, replacing what it held.
    pub fn encode(self, samples: &[i16], bytes: &mut Vec<u8>) {
        bytes.clear();
        let encode = match self {
            Law::Mu => mu_law_encode,
            Law::A => a_law_encode,
        };
        bytes.extend(samples.iter().copied().map(encode));
    }

    /// Decodes `bytes` into `samples`, one sample per byte, replacing what it held.
    pub fn decode(self, bytes: &[u8], samples: &mut Vec<i16>) {
        samples.clear();
        let decode = match self {
            Law::Mu => mu_law_decode,
            Law::A => a_law_decode,
        };
        samples.extend(bytes.iter().copied().map(decode));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_decodes_to_a_sample_that_encodes_back_to_it() {
        for byte in 0..=u8::MAX {
            // 0x7F is μ-law's "negative zero": it decodes to 0, which encodes as 0xFF.
            let mu_expected = if byte == 0x7F { 0xFF } else { byte };
            assert_eq!(
                mu_law_encode(mu_law_decode(byte)),
                mu_expected,
                "μ-law code {byte:#04x} must survive a round trip, or audio degrades at each hop"
            );
            assert_eq!(
                a_law_encode(a_law_decode(byte)),
                byte,
                "A-law code {byte:#04x} must survive a round trip, or audio degrades at each hop"
            );
        }
    }

    #[test]
    fn silence_and_the_extremes_are_where_the_standard_puts_them() {
        assert_eq!(
            mu_law_encode(0),
            0xFF,
            "μ-law silence is all ones on the wire"
        );
        assert_eq!(mu_law_decode(0xFF), 0);
        assert_eq!(
            mu_law_decode(0x80),
            32_124,
            "the loudest positive μ-law code"
        );
        assert_eq!(
            mu_law_decode(0x00),
            -32_124,
            "the loudest negative μ-law code"
        );
        assert_eq!(a_law_encode(0), 0xD5, "A-law's smallest positive step");
        assert_eq!(a_law_decode(0xD5), 8);
        assert_eq!(a_law_decode(0x55), -8);
        assert_eq!(
            a_law_decode(0xAA),
            32_256,
            "the loudest positive A-law code"
        );
        assert_eq!(
            mu_law_encode(i16::MIN),
            0x00,
            "clipping, not wrapping, at full scale"
        );
        assert_eq!(a_law_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn the_error_stays_within_one_step_of_the_scale() {
        for sample in (i16::MIN..=i16::MAX).step_by(7) {
            for (law, decode, encode) in [
                (
                    "μ-law",
                    mu_law_decode as fn(u8) -> i16,
                    mu_law_encode as fn(i16) -> u8,
                ),
                ("A-law", a_law_decode, a_law_encode),
            ] {
                let back = i32::from(decode(encode(sample)));
                let sample = i32::from(sample);
                // Steps double with each segment; half of the step at this loudness, plus the
                // clipping at the very top, bounds the error.
                let allowed = (sample.abs() / 16).max(16) + 520;
                assert!(
                    (back - sample).abs() <= allowed,
                    "{law} must keep {sample} within its step, got {back}"
                );
            }
        }
    }
}
