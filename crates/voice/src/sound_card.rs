//! The agent's headset: the system's default microphone and speaker through cpal, converted
//! between the card's rate and channels and the call's 8 kHz mono.
//!
//! cpal's streams may not move between threads on every platform, so each call's streams live
//! on a thread of their own, which ends when the call's source and sink are dropped. The card's
//! callbacks and the call's media loop meet in two short queues; a queue that overflows drops
//! its oldest audio rather than let latency grow.

use std::collections::VecDeque;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::audio::{AudioDevices, AudioSink, AudioSource, RATE, Resampler, Silence};

/// The most audio a queue between the card and the call holds: 200 ms at 8 kHz.
const QUEUE_LIMIT: usize = 1_600;

/// The system's default microphone and speaker. Opening them for a call that finds no sound
/// card (a headless machine, a headset unplugged) logs why and gives silence instead, so that
/// the call itself goes on.
#[derive(Debug, Default, Clone, Copy)]
pub struct SoundCard;

impl AudioDevices for SoundCard {
    fn open(&self, call: &str) -> (Box<dyn AudioSource>, Box<dyn AudioSink>) {
        match open_card() {
            Ok((source, sink)) => (Box::new(source), Box::new(sink)),
            Err(error) => {
                tracing::warn!(%call, %error, "no sound card for the call; it carries silence");
                (Box::new(Silence), Box::new(Silence))
            }
        }
    }
}

/// Why the sound card could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SoundCardError {
    #[error("no {0} device; plug in a headset or choose one in the system's sound settings")]
    NoDevice(&'static str),
    #[error("the {device} cannot be opened: {message}")]
    Open {
        device: &'static str,
        message: String,
    },
    #[error("the {0} uses a sample format the phone does not handle")]
    Format(&'static str),
}

type Queue = Arc<Mutex<VecDeque<i16>>>;

/// What the microphone said, at 8 kHz, for the call to send.
struct Microphone {
    heard: Queue,
    _card: CardThread,
}

/// What the call's other side says, at 8 kHz, for the speaker to play.
struct Speaker {
    play: Queue,
    _card: CardThread,
}

/// The thread that holds a call's streams; dropping it ends the thread and closes them.
struct CardThread {
    stop: Option<std_mpsc::Sender<()>>,
}

impl Drop for CardThread {
    fn drop(&mut self) {
        self.stop.take();
    }
}

impl AudioSource for Microphone {
    fn read(&mut self, frame: &mut [i16]) {
        let Ok(mut heard) = self.heard.lock() else {
            frame.fill(0);
            return;
        };
        for sample in frame.iter_mut() {
            *sample = heard.pop_front().unwrap_or(0);
        }
    }
}

impl AudioSink for Speaker {
    fn write(&mut self, frame: &[i16]) {
        if let Ok(mut play) = self.play.lock() {
            play.extend(frame.iter().copied());
            let excess = play.len().saturating_sub(QUEUE_LIMIT);
            play.drain(..excess);
        }
    }
}

fn open_card() -> Result<(Microphone, Speaker), SoundCardError> {
    let heard: Queue = Arc::default();
    let play: Queue = Arc::default();
    let (stop, stopped) = std_mpsc::channel::<()>();
    let (ready, outcome) = std_mpsc::channel();
    let (card_heard, card_play) = (Arc::clone(&heard), Arc::clone(&play));
    std::thread::Builder::new()
        .name("sound-card".to_owned())
        .spawn(move || match streams(card_heard, card_play) {
            Ok(streams) => {
                let _ = ready.send(Ok(()));
                // Holds the streams until the call's source and sink are gone.
                let _ = stopped.recv();
                drop(streams);
            }
            Err(error) => {
                let _ = ready.send(Err(error));
            }
        })
        .map_err(|error| SoundCardError::Open {
            device: "sound card",
            message: error.to_string(),
        })?;
    outcome.recv().map_err(|_| SoundCardError::Open {
        device: "sound card",
        message: "its thread ended".to_owned(),
    })??;

    // The thread ends once both the microphone and the speaker are dropped, which happens
    // together when the call's media stops.
    let card = |stop: &std_mpsc::Sender<()>| CardThread {
        stop: Some(stop.clone()),
    };
    Ok((
        Microphone {
            heard,
            _card: card(&stop),
        },
        Speaker {
            play,
            _card: card(&stop),
        },
    ))
}

/// Opens and starts the default input and output streams.
fn streams(heard: Queue, play: Queue) -> Result<(cpal::Stream, cpal::Stream), SoundCardError> {
    let host = cpal::default_host();
    let input = host
        .default_input_device()
        .ok_or(SoundCardError::NoDevice("microphone"))?;
    let output = host
        .default_output_device()
        .ok_or(SoundCardError::NoDevice("speaker"))?;

    let input_config = input.default_input_config().map_err(failed("microphone"))?;
    let format = input_config.sample_format();
    let config: cpal::StreamConfig = input_config.into();
    let microphone = match format {
        cpal::SampleFormat::F32 => microphone::<f32>(&input, config, heard),
        cpal::SampleFormat::I16 => microphone::<i16>(&input, config, heard),
        cpal::SampleFormat::I32 => microphone::<i32>(&input, config, heard),
        cpal::SampleFormat::U16 => microphone::<u16>(&input, config, heard),
        cpal::SampleFormat::U8 => microphone::<u8>(&input, config, heard),
        _ => Err(SoundCardError::Format("microphone")),
    }?;

    let output_config = output.default_output_config().map_err(failed("speaker"))?;
    let format = output_config.sample_format();
    let config: cpal::StreamConfig = output_config.into();
    let speaker = match format {
        cpal::SampleFormat::F32 => speaker::<f32>(&output, config, play),
        cpal::SampleFormat::I16 => speaker::<i16>(&output, config, play),
        cpal::SampleFormat::I32 => speaker::<i32>(&output, config, play),
        cpal::SampleFormat::U16 => speaker::<u16>(&output, config, play),
        cpal::SampleFormat::U8 => speaker::<u8>(&output, config, play),
        _ => Err(SoundCardError::Format("speaker")),
    }?;

    microphone.play().map_err(failed("microphone"))?;
    speaker.play().map_err(failed("speaker"))?;
    Ok((microphone, speaker))
}

/// cpal's error while opening `device`, as the phone's.
fn failed(device: &'static str) -> impl Fn(cpal::Error) -> SoundCardError {
    move |error| SoundCardError::Open {
        device,
        message: error.to_string(),
    }
}

/// The microphone's stream: its first channel, converted to 8 kHz, into `heard`.
fn microphone<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    heard: Queue,
) -> Result<cpal::Stream, SoundCardError>
where
    T: cpal::SizedSample,
    f32: cpal::FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let mut down = Resampler::new(config.sample_rate, RATE);
    let mut mono = Vec::new();
    let mut converted = Vec::new();
    device
        .build_input_stream(
            config,
            move |data: &[T], _: &cpal::InputCallbackInfo| {
                mono.clear();
                mono.extend(
                    data.chunks(channels)
                        .map(|frame| frame[0].to_sample::<f32>() * 32_767.0),
                );
                converted.clear();
                down.process(&mono, &mut converted);
                if let Ok(mut heard) = heard.lock() {
                    heard.extend(
                        converted
                            .iter()
                            .map(|&sample| sample.clamp(-32_768.0, 32_767.0) as i16),
                    );
                    let excess = heard.len().saturating_sub(QUEUE_LIMIT);
                    heard.drain(..excess);
                }
            },
            |error| tracing::warn!(%error, "the microphone failed"),
            None,
        )
        .map_err(failed("microphone"))
}

/// The speaker's stream: the call's audio from `play`, converted to the card's rate, on
/// every channel.
fn speaker<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    play: Queue,
) -> Result<cpal::Stream, SoundCardError>
where
    T: cpal::SizedSample + cpal::FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    let mut up = Resampler::new(RATE, config.sample_rate);
    let mut call_audio = Vec::new();
    let mut converted = Vec::new();
    let mut card_audio = VecDeque::new();
    device
        .build_output_stream(
            config,
            move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
                let frames = data.len() / channels;
                // Enough of the call's audio, converted, to fill this buffer.
                if card_audio.len() < frames
                    && let Ok(mut play) = play.lock()
                {
                    call_audio.clear();
                    call_audio.extend(play.drain(..).map(|sample| f32::from(sample) / 32_768.0));
                    converted.clear();
                    up.process(&call_audio, &mut converted);
                    card_audio.extend(converted.iter().copied());
                }
                for frame in data.chunks_mut(channels) {
                    let sample = card_audio.pop_front().unwrap_or(0.0);
                    frame.fill(T::from_sample(sample));
                }
            },
            |error| tracing::warn!(%error, "the speaker failed"),
            None,
        )
        .map_err(failed("speaker"))
}
