//! Calls from a real SIP phone: baresip on loopback, scripted through its `ctrl_tcp` module,
//! calls the phone; the phone rings, answers with its session description and hangs up, or
//! refuses as busy. Each step waits for the SIP event it causes, on both sides.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use switchboard_voice::g711::Law;
use switchboard_voice::sdp::{Direction, Session};
use switchboard_voice::sip::{CallEvent, EndReason, IncomingCall, Phone, Refusal};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc::UnboundedReceiver;

/// Longest a step may take before the test gives up on it: a guard against hanging, not a
/// measure; every step normally takes milliseconds.
const GUARD: Duration = Duration::from_secs(20);

/// A baresip instance with one account, stopped when dropped.
struct Baresip {
    child: Child,
    /// Where it takes SIP.
    sip: SocketAddr,
    control: TcpStream,
    buffered: Vec<u8>,
    _folder: tempfile::TempDir,
}

impl Baresip {
    async fn start(user: &str) -> anyhow::Result<Baresip> {
        Baresip::start_answering(user, "manual").await
    }

    /// With `answermode` `auto`, it answers every call at once.
    ///
    /// Its ports are picked free a moment before it binds them, and it also binds TCP on its
    /// SIP port number, which another test may hold by then; so a start that fails is tried
    /// again on other ports, and its own output says why when every attempt fails.
    async fn start_answering(user: &str, answermode: &str) -> anyhow::Result<Baresip> {
        let mut failures = Vec::new();
        for _ in 0..5 {
            match Baresip::try_start(user, answermode).await {
                Ok(baresip) => return Ok(baresip),
                Err(error) => failures.push(format!("{error:#}")),
            }
        }
        bail!("baresip did not start: {}", failures.join("; "))
    }

    async fn try_start(user: &str, answermode: &str) -> anyhow::Result<Baresip> {
        let folder = tempfile::tempdir()?;
        let sip = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let control = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let tone = folder.path().join("tone.wav");
        write_tone(&tone, 1_000.0, 60)?;
        std::fs::write(
            folder.path().join("config"),
            format!(
                "poll_method epoll\nsip_listen {sip}\nnet_interface 127.0.0.1\n\
                 audio_player alsa,null\naudio_alert alsa,null\n\
                 audio_source aufile,{tone}\nrtp_ports 30000-30999\n\
                 module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
                 module alsa.so\nmodule_tmp account.so\nmodule_app menu.so\n\
                 module_app ctrl_tcp.so\nctrl_tcp_listen {control}\n",
                tone = tone.display(),
            ),
        )?;
        std::fs::write(
            folder.path().join("accounts"),
            format!("<sip:{user}@127.0.0.1>;regint=0;audio_codecs=PCMU;answermode={answermode}\n"),
        )?;
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(folder.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start baresip; `cargo xtask setup` installs it")?;

        // Ready once it says so, which it does after its modules, the control port's among
        // them, are up; an exit first ends its output.
        let stdout = child.stdout.take().context("baresip's output")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut said = Vec::new();
        let ready = tokio::time::timeout(GUARD, async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("baresip is ready") {
                    return Ok::<bool, std::io::Error>(true);
                }
                said.push(line);
            }
            Ok(false)
        })
        .await;
        if !matches!(ready, Ok(Ok(true))) {
            let _ = child.kill().await;
            let mut errors = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut errors).await;
            }
            let tail: Vec<&str> = said
                .iter()
                .map(String::as_str)
                .chain(errors.lines())
                .rev()
                .take(5)
                .collect();
            bail!("it never said it was ready; its output ends: {tail:?}");
        }
        // Keep reading its output, so that a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        if let Some(stderr) = child.stderr.take() {
            let mut errors = BufReader::new(stderr).lines();
            tokio::spawn(async move { while let Ok(Some(_)) = errors.next_line().await {} });
        }
        let control = TcpStream::connect(control)
            .await
            .context("baresip said it was ready, but its control port refuses")?;
        Ok(Baresip {
            child,
            sip,
            control,
            buffered: Vec::new(),
            _folder: folder,
        })
    }

    async fn command(&mut self, command: &str, params: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({"command": command, "params": params}).to_string();
        self.control
            .write_all(format!("{}:{body},", body.len()).as_bytes())
            .await?;
        Ok(())
    }

    /// Waits for the event of `kind`, skipping others and command responses.
    async fn event(&mut self, kind: &str) -> anyhow::Result<Value> {
        tokio::time::timeout(GUARD, async {
            loop {
                let message = self.next_message().await?;
                if message["event"] == true && message["type"] == kind {
                    return Ok(message);
                }
            }
        })
        .await
        .with_context(|| format!("baresip never reported {kind}"))?
    }

    async fn next_message(&mut self) -> anyhow::Result<Value> {
        loop {
            if let Some(colon) = self.buffered.iter().position(|&b| b == b':') {
                let length: usize = std::str::from_utf8(&self.buffered[..colon])?.parse()?;
                if self.buffered.len() > colon + length + 1 {
                    let message =
                        serde_json::from_slice(&self.buffered[colon + 1..colon + 1 + length])?;
                    self.buffered.drain(..colon + length + 2);
                    return Ok(message);
                }
            }
            let mut chunk = [0u8; 4096];
            let read = self.control.read(&mut chunk).await?;
            if read == 0 {
                bail!("baresip closed its control connection");
            }
            self.buffered.extend_from_slice(&chunk[..read]);
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Writes `seconds` of a sine at `frequency` as an 8 kHz mono 16-bit WAV file.
fn write_tone(path: &std::path::Path, frequency: f64, seconds: usize) -> anyhow::Result<()> {
    let samples = switchboard_voice::tone::sine(frequency, 8_000.0, 8_000.0, 0, 8_000 * seconds);
    let data_length = (samples.len() * 2) as u32;
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_length).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&8_000u32.to_le_bytes());
    bytes.extend_from_slice(&16_000u32.to_le_bytes()); // bytes per second
    bytes.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_length.to_le_bytes());
    for sample in samples {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    std::fs::write(path, bytes)?;
    Ok(())
}

async fn next_event(events: &mut UnboundedReceiver<CallEvent>) -> anyhow::Result<CallEvent> {
    tokio::time::timeout(GUARD, events.recv())
        .await
        .context("the phone reported nothing")?
        .context("the phone's events ended")
}

async fn incoming(events: &mut UnboundedReceiver<CallEvent>) -> anyhow::Result<IncomingCall> {
    match next_event(events).await? {
        CallEvent::Incoming(call) => Ok(call),
        other => bail!("expected a call to arrive, got {other:?}"),
    }
}

fn our_audio(phone: &Phone) -> Session {
    Session {
        address: phone.address().ip(),
        port: 40_000,
        codecs: vec![Law::Mu, Law::A],
        telephone_event: Some(switchboard_voice::sdp::TELEPHONE_EVENT),
        direction: Direction::SendRecv,
    }
}

fn uri(address: SocketAddr) -> String {
    format!("sip:agent@{address}")
}

#[tokio::test]
async fn a_call_from_baresip_rings_is_answered_and_hung_up_by_the_agent() -> anyhow::Result<()> {
    let mut phone = Phone::start("127.0.0.1:0".parse()?).await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut caller = Baresip::start("priya").await?;

    caller.command("dial", &uri(phone.address())).await?;
    let call = incoming(&mut events).await?;
    assert_eq!(
        call.caller, "priya",
        "the caller's number (here a user) is what the screen pop looks up"
    );
    let offer = call
        .offer
        .as_ref()
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    assert!(
        offer.codecs.contains(&Law::Mu),
        "baresip offers the PCMU it is configured for: {offer:?}"
    );

    call.ring()?;
    caller.event("CALL_RINGING").await?;
    call.answer(&our_audio(&phone).answer(offer)?)?;
    caller.event("CALL_ESTABLISHED").await?;
    assert_eq!(established(&mut events).await?, call.call, "the same call");

    call.hang_up().await?;
    caller.event("CALL_CLOSED").await?;
    let (_, reason) = ended(&mut events).await?;
    assert_eq!(
        reason,
        EndReason::LocalHungUp,
        "the agent hung up, and the event says so"
    );
    Ok(())
}

#[tokio::test]
async fn a_busy_agent_refuses_and_the_caller_hears_busy() -> anyhow::Result<()> {
    let mut phone = Phone::start("127.0.0.1:0".parse()?).await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut caller = Baresip::start("tom").await?;

    caller.command("dial", &uri(phone.address())).await?;
    let call = incoming(&mut events).await?;
    call.reject(Refusal::Busy)?;
    let closed = caller.event("CALL_CLOSED").await?;
    let reason = closed["param"].as_str().unwrap_or_default();
    assert!(
        reason.contains("486") || reason.to_lowercase().contains("busy"),
        "the caller must hear busy, not a failure: {closed}"
    );
    let (_, reason) = ended(&mut events).await?;
    assert_eq!(reason, EndReason::Refused);
    Ok(())
}

#[tokio::test]
async fn a_caller_who_gives_up_while_it_rings_ends_the_call() -> anyhow::Result<()> {
    let mut phone = Phone::start("127.0.0.1:0".parse()?).await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut caller = Baresip::start("ana").await?;

    caller.command("dial", &uri(phone.address())).await?;
    let call = incoming(&mut events).await?;
    call.ring()?;
    caller.event("CALL_RINGING").await?;
    caller.command("hangup", "").await?;
    let (id, reason) = ended(&mut events).await?;
    assert_eq!(id, call.call, "the ringing call is the one that ended");
    assert_eq!(
        reason,
        EndReason::CallerCancelled,
        "a CANCEL while ringing must stop the ringing, with its reason"
    );
    Ok(())
}

/// The call that the next event, skipping progress, says is established.
async fn established(events: &mut UnboundedReceiver<CallEvent>) -> anyhow::Result<String> {
    match settled(events).await? {
        CallEvent::Established { call } => Ok(call),
        other => bail!("expected a call to be established, got {other:?}"),
    }
}

/// The call, and why, that the next event, skipping progress, says has ended.
async fn ended(events: &mut UnboundedReceiver<CallEvent>) -> anyhow::Result<(String, EndReason)> {
    match settled(events).await? {
        CallEvent::Ended { call, reason } => Ok((call, reason)),
        other => bail!("expected a call to end, got {other:?}"),
    }
}

/// The next event that is not progress (ringing, early media) of a placed call.
async fn settled(events: &mut UnboundedReceiver<CallEvent>) -> anyhow::Result<CallEvent> {
    loop {
        match next_event(events).await? {
            CallEvent::Ringing { .. } | CallEvent::EarlyMedia { .. } => {}
            other => return Ok(other),
        }
    }
}

#[tokio::test]
async fn the_agent_calls_baresip_which_answers_and_later_hangs_up() -> anyhow::Result<()> {
    let mut phone = Phone::start("127.0.0.1:0".parse()?).await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut callee = Baresip::start_answering("bob", "auto").await?;

    let mut call = phone.dial(&format!("sip:bob@{}", callee.sip), &our_audio(&phone))?;
    let answer = call.answered().await?;
    assert_eq!(
        answer.codecs,
        vec![Law::Mu],
        "baresip answers with the one codec both speak"
    );
    callee.event("CALL_ESTABLISHED").await?;
    assert_eq!(
        established(&mut events).await?,
        call.call,
        "the placed call"
    );

    callee.command("hangup", "").await?;
    let (id, reason) = ended(&mut events).await?;
    assert_eq!(id, call.call);
    assert_eq!(
        reason,
        EndReason::RemoteHungUp,
        "the other side hung up, and the event says so"
    );
    Ok(())
}
