//! Where a call's audio comes from and goes to, 20 ms at a time: the sound card (see
//! [`crate::sound_card`]), a WAV file, a tone, silence, or a recording. The media loop asks a
//! source for one frame per tick and gives a sink one frame per tick, so every device here
//! works at the call's own rate: 8,000 samples a second, 160 to a frame.
//!
//! WAV files are read and written here too (16-bit PCM, mono, 8 kHz), small enough to write
//! by hand, so that headless machines and tests can play and record calls.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Samples a second on a G.711 call.
pub const RATE: u32 = 8_000;

/// Samples in one 20 ms frame at [`RATE`].
pub const FRAME: usize = 160;

/// Gives the call 20 ms of what the agent says.
pub trait AudioSource: Send {
    /// Fills `frame` ([`FRAME`] samples) with the next 20 ms.
    fn read(&mut self, frame: &mut [i16]);
}

/// Takes 20 ms of what the other side says.
pub trait AudioSink: Send {
    /// Plays or keeps `frame` ([`FRAME`] samples).
    fn write(&mut self, frame: &[i16]);
}

/// Opens a call's source and sink when its media starts: the sound card on an agent's desk,
/// files or silence on a headless machine.
pub trait AudioDevices: Send + Sync {
    /// The source and sink for the call `call` (its SIP Call-ID).
    fn open(&self, call: &str) -> (Box<dyn AudioSource>, Box<dyn AudioSink>);
}

/// Why a WAV file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a 16-bit mono 8 kHz PCM WAV file ({reason}); convert it, for example \
         with `sox IN -r 8000 -c 1 -b 16 OUT.wav`"
    )]
    Format { path: PathBuf, reason: &'static str },
}

/// Silence: what a muted or headless desk sends.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silence;

impl AudioSource for Silence {
    fn read(&mut self, frame: &mut [i16]) {
        frame.fill(0);
    }
}

impl AudioSink for Silence {
    fn write(&mut self, _frame: &[i16]) {}
}

/// A steady sine: how a test proves that audio gets through.
#[derive(Debug, Clone)]
pub struct Tone {
    frequency: f64,
    amplitude: f64,
    position: usize,
}

impl Tone {
    pub fn new(frequency: f64) -> Tone {
        Tone {
            frequency,
            amplitude: 8_000.0,
            position: 0,
        }
    }
}

impl AudioSource for Tone {
    fn read(&mut self, frame: &mut [i16]) {
        let samples = crate::tone::sine(
            self.frequency,
            self.amplitude,
            f64::from(RATE),
            self.position,
            frame.len(),
        );
        frame.copy_from_slice(&samples);
        // One period at 8 kHz repeats after at most 8,000 samples; wrapping there keeps the
        // phase continuous for any whole frequency and the counter small.
        self.position = (self.position + frame.len()) % RATE as usize;
    }
}

/// The samples of a WAV file, played from the start again when they run out (hold music, an
/// announcement, a test's speech).
#[derive(Debug, Clone)]
pub struct Playback {
    samples: Arc<[i16]>,
    position: usize,
}

impl Playback {
    pub fn open(path: &Path) -> Result<Playback, WavError> {
        Ok(Playback::from_samples(read_wav(path)?))
    }

    pub fn from_samples(samples: Vec<i16>) -> Playback {
        Playback {
            samples: samples.into(),
            position: 0,
        }
    }
}

impl AudioSource for Playback {
    fn read(&mut self, frame: &mut [i16]) {
        if self.samples.is_empty() {
            frame.fill(0);
            return;
        }
        for sample in frame.iter_mut() {
            *sample = self.samples[self.position];
            self.position = (self.position + 1) % self.samples.len();
        }
    }
}

/// Keeps what the other side said, in memory, for whoever holds a clone; with a path, also
/// writes it to a WAV file when the call's media stops.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    samples: Arc<Mutex<Vec<i16>>>,
    /// Woken at every frame, for whoever waits for the recording to reach a length.
    grown: Arc<tokio::sync::Notify>,
    file: Option<PathBuf>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    /// A recording that is also written to `path` when its sink is dropped.
    pub fn to_file(path: PathBuf) -> Recording {
        Recording {
            file: Some(path),
            ..Recording::default()
        }
    }

    /// What was heard so far.
    pub fn samples(&self) -> Vec<i16> {
        self.samples
            .lock()
            .map(|samples| samples.clone())
            .unwrap_or_default()
    }

    /// Waits until the recording holds at least `length` samples.
    pub async fn until_len(&self, length: usize) {
        loop {
            // Registered before the check, so that a frame written between the two wakes it.
            let grown = self.grown.notified();
            if self.samples.lock().map_or(0, |samples| samples.len()) >= length {
                return;
            }
            grown.await;
        }
    }

    /// A sink that adds to this recording.
    pub fn sink(&self) -> Box<dyn AudioSink> {
        Box::new(RecordingSink(self.clone()))
    }
}

/// The sink side of a [`Recording`]; writes the file, if any, when dropped.
#[derive(Debug)]
struct RecordingSink(Recording);

impl AudioSink for RecordingSink {
    fn write(&mut self, frame: &[i16]) {
        if let Ok(mut samples) = self.0.samples.lock() {
            samples.extend_from_slice(frame);
        }
        self.0.grown.notify_waiters();
    }
}

impl Drop for RecordingSink {
    fn drop(&mut self) {
        if let Some(path) = &self.0.file
            && let Err(error) = write_wav(path, &self.0.samples())
        {
            tracing::warn!(%error, "the call's recording was not kept");
        }
    }
}

/// Devices for a machine without a sound card: each call plays `play` (silence when `None`)
/// and, with `record_to`, keeps what it heard in `<record_to>/<call>.wav`.
#[derive(Debug, Clone, Default)]
pub struct FileDevices {
    pub play: Option<PathBuf>,
    pub record_to: Option<PathBuf>,
}

impl AudioDevices for FileDevices {
    fn open(&self, call: &str) -> (Box<dyn AudioSource>, Box<dyn AudioSink>) {
        let source: Box<dyn AudioSource> = match &self.play {
            Some(path) => match Playback::open(path) {
                Ok(playback) => Box::new(playback),
                Err(error) => {
                    tracing::warn!(%error, "the call sends silence instead");
                    Box::new(Silence)
                }
            },
            None => Box::new(Silence),
        };
        let sink = match &self.record_to {
            Some(folder) => {
                // A Call-ID may hold characters a file name must not.
                let name: String = call
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                Recording::to_file(folder.join(format!("{name}.wav"))).sink()
            }
            None => Box::new(Silence),
        };
        (source, sink)
    }
}

/// Reads a 16-bit mono 8 kHz PCM WAV file.
pub fn read_wav(path: &Path) -> Result<Vec<i16>, WavError> {
    let bytes = std::fs::read(path).map_err(|source| WavError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_wav(&bytes).map_err(|reason| WavError::Format {
        path: path.to_owned(),
        reason,
    })
}

/// The samples of a WAV file's bytes. A `data` chunk whose length runs past the end (a file
/// still being written) yields what is there.
pub fn parse_wav(bytes: &[u8]) -> Result<Vec<i16>, &'static str> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("no RIFF/WAVE header");
    }
    let mut at = 12;
    let mut format_ok = false;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let length =
            u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
                as usize;
        let body = &bytes[at + 8..bytes.len().min(at + 8 + length)];
        match id {
            b"fmt " => {
                if body.len() < 16 {
                    return Err("short format chunk");
                }
                let encoding = u16::from_le_bytes([body[0], body[1]]);
                let channels = u16::from_le_bytes([body[2], body[3]]);
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let bits = u16::from_le_bytes([body[14], body[15]]);
                if encoding != 1 || channels != 1 || rate != RATE || bits != 16 {
                    return Err("its format differs");
                }
                format_ok = true;
            }
            b"data" => {
                if !format_ok {
                    return Err("data before its format");
                }
                return Ok(body
                    .chunks_exact(2)
                    .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                    .collect());
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at += 8 + length + (length & 1);
    }
    Err("no data chunk")
}

/// Writes `samples` as a 16-bit mono 8 kHz PCM WAV file.
pub fn write_wav(path: &Path, samples: &[i16]) -> Result<(), WavError> {
    let data_length = (samples.len() * 2) as u32;
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_length).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&RATE.to_le_bytes());
    bytes.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes a second
    bytes.extend_from_slice(&2u16.to_le_bytes()); // bytes a frame
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_length.to_le_bytes());
    for sample in samples {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    std::fs::write(path, bytes).map_err(|source| WavError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Converts audio between two rates by linear interpolation, keeping its place across
/// frames: enough for speech between the call's 8 kHz and a sound card's 44.1 or 48 kHz.
#[derive(Debug, Clone)]
pub struct Resampler {
    /// Input samples per output sample.
    step: f64,
    /// Where the next output sample falls, in input samples after `last`.
    position: f64,
    /// The last input sample of the previous chunk.
    last: f32,
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Resampler {
        Resampler {
            step: f64::from(from) / f64::from(to.max(1)),
            position: 0.0,
            last: 0.0,
        }
    }

    /// Appends `input`, converted, to `output`.
    pub fn process(&mut self, input: &[f32], output: &mut Vec<f32>) {
        // Positions count from the previous chunk's last sample (0), so that interpolation
        // runs across the boundary between chunks: position k is `input[k - 1]`.
        let at = |index: usize| -> f32 {
            match index {
                0 => self.last,
                _ => input[index - 1],
            }
        };
        let length = input.len() as f64;
        while self.position < length {
            let whole = self.position.floor();
            let fraction = (self.position - whole) as f32;
            let before = at(whole as usize);
            let after = at(whole as usize + 1);
            output.push(before + (after - before) * fraction);
            self.position += self.step;
        }
        if let Some(&last) = input.last() {
            self.last = last;
            self.position -= length;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_wav_reads_back_sample_for_sample() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("tone.wav");
        let samples = crate::tone::sine(440.0, 9_000.0, 8_000.0, 0, 1_234);
        write_wav(&path, &samples).expect("writing a WAV file");
        assert_eq!(
            read_wav(&path).expect("reading it back"),
            samples,
            "what is written is what is read"
        );
    }

    #[test]
    fn a_wav_in_another_format_is_refused_with_advice() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("stereo.wav");
        write_wav(&path, &[1, 2, 3]).expect("writing a WAV file");
        let mut bytes = std::fs::read(&path).expect("its bytes");
        bytes[22] = 2; // two channels
        std::fs::write(&path, bytes).expect("rewriting it");
        let error = read_wav(&path).expect_err("a stereo file cannot play on a call");
        assert!(
            error.to_string().contains("sox"),
            "the message says how to convert it: {error}"
        );
        assert!(
            parse_wav(b"RIFF....AVI LIST").is_err(),
            "a file that is not WAVE is refused"
        );
    }

    #[test]
    fn a_tone_source_continues_its_phase_across_frames() {
        let mut tone = Tone::new(1_000.0);
        let mut frames = vec![0i16; FRAME * 3];
        for frame in frames.chunks_mut(FRAME) {
            tone.read(frame);
        }
        let whole = crate::tone::sine(1_000.0, 8_000.0, 8_000.0, 0, FRAME * 3);
        assert_eq!(frames, whole, "three frames are one unbroken sine");
    }

    #[test]
    fn playback_loops_and_a_recording_keeps_every_frame() {
        let mut playback = Playback::from_samples(vec![1, 2, 3]);
        let mut frame = [0i16; 5];
        playback.read(&mut frame);
        assert_eq!(frame, [1, 2, 3, 1, 2], "a file starts again when it ends");

        let recording = Recording::new();
        let mut sink = recording.sink();
        sink.write(&[4, 5]);
        sink.write(&[6]);
        assert_eq!(recording.samples(), vec![4, 5, 6], "every frame, in order");
    }

    #[test]
    fn resampling_keeps_a_tone_at_its_frequency_and_the_length_in_proportion() {
        let input: Vec<f32> = crate::tone::sine(1_000.0, 8_000.0, 48_000.0, 0, 48_000)
            .into_iter()
            .map(f32::from)
            .collect();
        let mut down = Resampler::new(48_000, 8_000);
        let mut output = Vec::new();
        for chunk in input.chunks(441) {
            down.process(chunk, &mut output);
        }
        assert!(
            (output.len() as i64 - 8_000).abs() <= 2,
            "a second at 48 kHz is a second at 8 kHz, got {} samples",
            output.len()
        );
        let samples: Vec<i16> = output.iter().map(|&s| s as i16).collect();
        assert!(
            crate::tone::presence(&samples, 1_000.0, 8_000.0) > 0.95,
            "the tone is still at 1 kHz after the change of rate"
        );
    }
}
