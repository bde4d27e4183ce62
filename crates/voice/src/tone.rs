//! Whether a frequency is present in a stretch of audio (the Goertzel algorithm: one bin of a
//! discrete Fourier transform, computed in one pass). The phone's tests play a known tone on
//! one side of a call and look for it in what the other side heard; DTMF digits are a pair of
//! such tones.

/// How much of the energy of `samples` lies at `frequency`, from 0 (none) to about 1 (a pure
/// tone at that frequency). `sample_rate` is in hertz. The resolution is `sample_rate /
/// samples.len()`: 160 samples at 8 kHz (20 ms) tell tones 50 Hz apart.
pub fn strength(samples: &[i16], frequency: f64, sample_rate: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let coefficient = 2.0 * (2.0 * std::f64::consts::PI * frequency / sample_rate).cos();

    let (mut previous, mut before_previous, mut energy) = (0.0_f64, 0.0_f64, 0.0_f64);
    for &sample in samples {
        let sample = f64::from(sample);
        let current = sample + coefficient * previous - before_previous;
        before_previous = previous;
        previous = current;
        energy += sample * sample;
    }
    if energy == 0.0 {
        return 0.0;
    }

    // The bin's power is (A·N/2)² for a tone of amplitude A over N samples, whose energy is
    // A²·N/2; their ratio, scaled by N/2, is 1 for a pure tone.
    let power = previous * previous + before_previous * before_previous
        - coefficient * previous * before_previous;
    power / (energy * samples.len() as f64 / 2.0)
}

/// The share of 20 ms frames of `samples` in which `frequency` dominates (strength above one
/// half) and the audio is not near silence: how a test decides that a tone got through.
pub fn presence(samples: &[i16], frequency: f64, sample_rate: f64) -> f64 {
    let frame = (sample_rate / 50.0) as usize;
    if frame == 0 || samples.len() < frame {
        return 0.0;
    }
    let frames = samples.chunks_exact(frame);
    let count = frames.len();
    let present = frames
        .filter(|frame| {
            let loud = frame.iter().map(|&s| i64::from(s).abs()).max().unwrap_or(0) > 300;
            loud && strength(frame, frequency, sample_rate) > 0.5
        })
        .count();
    present as f64 / count as f64
}

/// A sine of `frequency` hertz at `amplitude`, `count` samples long, starting at sample
/// `offset` (so that consecutive calls continue one tone).
pub fn sine(
    frequency: f64,
    amplitude: f64,
    sample_rate: f64,
    offset: usize,
    count: usize,
) -> Vec<i16> {
    (offset..offset + count)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * frequency * n as f64 / sample_rate;
            (amplitude * phase.sin()).round() as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 8_000.0;

    #[test]
    fn a_tone_is_found_at_its_frequency_and_not_at_another() {
        let tone = sine(1_000.0, 8_000.0, RATE, 0, 160);
        assert!(
            strength(&tone, 1_000.0, RATE) > 0.9,
            "a pure 1 kHz tone has nearly all its energy at 1 kHz"
        );
        assert!(
            strength(&tone, 1_500.0, RATE) < 0.05,
            "a 1 kHz tone must not pass for the 1.5 kHz one the other direction plays"
        );
        assert_eq!(
            strength(&[0; 160], 1_000.0, RATE),
            0.0,
            "silence holds no tone"
        );
    }

    #[test]
    fn a_tone_survives_g711_and_silence_does_not_pass_for_one() {
        let tone = sine(1_500.0, 6_000.0, RATE, 0, 8_000);
        for law in [crate::g711::Law::Mu, crate::g711::Law::A] {
            let (mut bytes, mut heard) = (Vec::new(), Vec::new());
            law.encode(&tone, &mut bytes);
            law.decode(&bytes, &mut heard);
            assert!(
                presence(&heard, 1_500.0, RATE) > 0.95,
                "{law:?}: a tone through the codec is still that tone in every frame"
            );
            assert!(
                presence(&heard, 1_000.0, RATE) < 0.01,
                "{law:?}: the codec must not make one tone look like another"
            );
        }
        assert_eq!(
            presence(&vec![3; 8_000], 1_500.0, RATE),
            0.0,
            "near-silence is not a tone, whatever its spectrum"
        );
    }
}
