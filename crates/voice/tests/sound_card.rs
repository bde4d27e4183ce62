//! The headset path through cpal and ALSA, on a machine without a sound card: ALSA's own
//! plugins stand in for one. Its default device reads the microphone from a file holding a
//! tone and writes the speaker to a file, both converted by ALSA to 8 kHz mono 16-bit, so the
//! test can play into the call what the "microphone" hears and find what the call sent to
//! the "speaker".
//!
//! ALSA reads `~/.asoundrc`, so the test runs itself again as a child process whose `HOME` is
//! a folder of its own.

use std::time::Duration;

use switchboard_voice::audio::{AudioDevices, FRAME};
use switchboard_voice::sound_card::SoundCard;

const GUARD: Duration = Duration::from_secs(20);

/// Set in the child: the folder that is its `HOME`.
const CHILD: &str = "SWITCHBOARD_TEST_ALSA_HOME";

#[tokio::test]
async fn the_microphone_is_heard_and_the_speaker_plays_through_alsa() -> anyhow::Result<()> {
    if let Ok(home) = std::env::var(CHILD) {
        return through_alsa(std::path::Path::new(&home)).await;
    }
    let home = tempfile::tempdir()?;
    let output = std::process::Command::new(std::env::current_exe()?)
        .args([
            "the_microphone_is_heard_and_the_speaker_plays_through_alsa",
            "--exact",
            "--nocapture",
        ])
        .env("HOME", home.path())
        .env(CHILD, home.path())
        .output()?;
    assert!(
        output.status.success(),
        "the headset path failed in the child: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

async fn through_alsa(home: &std::path::Path) -> anyhow::Result<()> {
    let microphone = home.join("microphone.raw");
    let speaker = home.join("speaker.raw");
    let tone = switchboard_voice::tone::sine(1_000.0, 8_000.0, 8_000.0, 0, 8_000 * 60);
    std::fs::write(
        &microphone,
        tone.iter()
            .flat_map(|sample| sample.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;
    std::fs::write(
        home.join(".asoundrc"),
        format!(
            "pcm.!default {{ type asym; playback.pcm \"speaker\"; capture.pcm \"microphone\" }}\n\
             pcm.speaker {{ type plug; slave {{ pcm \"speakerfile\"; format S16_LE; rate 8000; channels 1 }} }}\n\
             pcm.speakerfile {{ type file; slave.pcm \"null\"; file \"{speaker}\"; format \"raw\" }}\n\
             pcm.microphone {{ type plug; slave {{ pcm \"micfile\"; format S16_LE; rate 8000; channels 1 }} }}\n\
             pcm.micfile {{ type file; slave.pcm \"null\"; file \"/dev/null\"; infile \"{microphone}\"; format \"raw\" }}\n",
            speaker = speaker.display(),
            microphone = microphone.display(),
        ),
    )?;
    let (mut source, mut sink) = SoundCard.open("test-call");
    let mut frame = vec![0i16; FRAME];
    let heard = tokio::time::timeout(GUARD, async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            source.read(&mut frame);
            if frame.iter().any(|&sample| sample.unsigned_abs() > 1_000) {
                return frame.clone();
            }
        }
    })
    .await;
    let heard = heard.map_err(|_| anyhow::anyhow!("the microphone never gave audio"))?;
    assert!(
        switchboard_voice::tone::strength(&heard, 1_000.0, 8_000.0) > 0.5,
        "what the call hears from the microphone is the file's 1 kHz tone"
    );

    let played = switchboard_voice::tone::sine(1_500.0, 8_000.0, 8_000.0, 0, 8_000 * 2);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for chunk in played.chunks(FRAME) {
        tick.tick().await;
        sink.write(chunk);
    }
    drop(source);
    drop(sink);

    let bytes = std::fs::read(&speaker)?;
    let samples: Vec<i16> = bytes
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let loud_tone = samples.chunks_exact(FRAME).any(|window| {
        window.iter().any(|&sample| sample.unsigned_abs() > 1_000)
            && switchboard_voice::tone::strength(window, 1_500.0, 8_000.0) > 0.5
    });
    assert!(
        loud_tone,
        "the speaker got the call's 1.5 kHz tone ({} samples written)",
        samples.len()
    );
    Ok(())
}
