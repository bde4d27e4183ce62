//! `switchboard-bench-phone`: the softphone's two figures. Prints one JSON report.
//!
//! - Answer time: the phone answers each call the moment it arrives, as an auto-answering desk
//!   would. A small SIP client here sends `--calls` INVITEs one after another over loopback and
//!   times each to its 200 OK to the microsecond (then ACKs and hangs up). SIPp, a real SIP
//!   load tool, then places as many calls at `--rate` a second as a cross-check that a
//!   standard UAC gets every call answered; its own times are whole milliseconds.
//! - Media CPU: two phones in this process call each other and talk (a tone each way, over
//!   real RTP on loopback, with the playout buffer and RTCP) for `--seconds`; the process's
//!   CPU time over that stretch, less the same stretch idle, halved, is one call's media path.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;
use switchboard_voice::audio::{AudioDevices, AudioSink, AudioSource, Silence, Tone};
use switchboard_voice::call::CallEvent;
use switchboard_voice::phone::{Phone, PhoneEvent, PhoneSettings};

mod sip;

#[derive(Debug, Parser)]
struct Options {
    /// Calls placed to time the answer, and again by SIPp.
    #[arg(long, default_value_t = 500)]
    calls: usize,
    /// Calls a second SIPp places.
    #[arg(long, default_value_t = 20)]
    rate: usize,
    /// How long the two phones talk while their CPU time is measured.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
}

/// Every call plays a tone and drops what it hears, so the measure is the media path itself.
struct ToneDevices;

impl AudioDevices for ToneDevices {
    fn open(&self, _call: &str) -> (Box<dyn AudioSource>, Box<dyn AudioSink>) {
        (Box::new(Tone::new(1_000.0)), Box::new(Silence))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let answer = answer_time(&options).await?;
    let sipp = sipp_calls(&options).await?;
    let media = media_cpu(&options).await?;
    let report = json!({
        "invite_to_200_ms": answer,
        "sipp": sipp,
        "media_cpu_percent_of_a_core": media,
    });
    std::io::Write::write_all(&mut std::io::stdout(), format!("{report}\n").as_bytes())?;
    Ok(())
}

/// Starts a phone that answers every call at once.
async fn answering_phone() -> anyhow::Result<Phone> {
    let phone = Phone::start(
        PhoneSettings::direct("127.0.0.1:0".parse()?),
        Arc::new(ToneDevices),
    )
    .await?;
    let mut events = phone.events().context("the phone's events")?;
    let answering = phone.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let PhoneEvent::Call(CallEvent::Incoming { call, .. }) = event {
                let _ = answering.answer(&call).await;
            }
        }
    });
    Ok(phone)
}

async fn sipp_calls(options: &Options) -> anyhow::Result<serde_json::Value> {
    let phone = answering_phone().await?;
    let folder = tempfile::tempdir()?;
    let sipp_port = UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let target = phone.address().to_string();
    let calls = options.calls.to_string();
    let rate = options.rate.to_string();
    let port = sipp_port.to_string();
    // SIPp places the calls and exits when the last has ended: 0 when every call
    // succeeded, 1 when some failed; its response times are in its `*_rtt.csv` file.
    let sipp = tokio::process::Command::new("sipp")
        .current_dir(folder.path())
        .args([
            target.as_str(),
            "-sn",
            "uac",
            "-s",
            "agent",
            "-i",
            "127.0.0.1",
            "-p",
            port.as_str(),
            "-m",
            calls.as_str(),
            "-r",
            rate.as_str(),
            "-d",
            "100",
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-nostdin",
            "-timeout",
            "300s",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .context("cannot start sipp; `cargo xtask bench phone` installs it")?;
    let mut times = response_times(folder.path())?;
    if times.is_empty() {
        bail!(
            "sipp ({sipp}) timed no call; its logs are in {}",
            folder.keep().display()
        );
    }
    let answered = times.len();
    times.sort_by(f64::total_cmp);
    let at = |share: f64| times[((times.len() - 1) as f64 * share).round() as usize];
    phone.stop().await;
    Ok(json!({
        "calls": answered,
        "p50": at(0.5),
        "p99": at(0.99),
        "max": at(1.0),
    }))
}

/// INVITE to 200 OK, timed by a bare SIP client over UDP, one call at a time.
async fn answer_time(options: &Options) -> anyhow::Result<serde_json::Value> {
    let phone = answering_phone().await?;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let ours = socket.local_addr()?;
    let theirs = phone.address();
    let mut times = Vec::with_capacity(options.calls);
    let mut buffer = vec![0u8; 4096];

    for call in 0..options.calls {
        let dialog = sip::Dialog {
            call_id: format!("bench-{call}@127.0.0.1"),
            call,
            caller: "bench".to_owned(),
            ours,
            theirs,
        };
        let to = dialog.to();
        let invite = dialog.request("INVITE", 1, "INVITE", &to, Some(sip::OFFER));
        let sent = Instant::now();
        socket.send_to(invite.as_bytes(), theirs).await?;

        // Provisional answers (100, 180) come first; the 200 carries the To tag.
        let to_tagged = loop {
            let (length, _) =
                tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
                    .await
                    .context("the phone did not answer an INVITE within 5 s")??;
            let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
            if sip::status(&text) == Some(200) && text.contains("CSeq: 1 INVITE") {
                times.push(sent.elapsed().as_secs_f64() * 1_000.0);
                break sip::header(&text, "To").context("a 200 without a To header")?;
            }
        };
        let ack = dialog.request("ACK", 1, "ACK", &to_tagged, None);
        socket.send_to(ack.as_bytes(), theirs).await?;
        let bye = dialog.request("BYE", 2, "BYE", &to_tagged, None);
        socket.send_to(bye.as_bytes(), theirs).await?;
        loop {
            let (length, _) =
                tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
                    .await
                    .context("the phone did not answer a BYE within 5 s")??;
            let text = String::from_utf8_lossy(&buffer[..length]);
            if sip::status(&text) == Some(200) && text.contains("BYE") {
                break;
            }
        }
    }
    phone.stop().await;

    times.sort_by(f64::total_cmp);
    let at = |share: f64| times[((times.len() - 1) as f64 * share).round() as usize];
    Ok(json!({
        "calls": times.len(),
        "p50": at(0.5),
        "p99": at(0.99),
        "max": at(1.0),
    }))
}

/// The response times (ms) in SIPp's `*_rtt.csv` files: `date_ms;response_time_ms;rtd_no`.
fn response_times(folder: &std::path::Path) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let path: PathBuf = entry?.path();
        if !path.to_string_lossy().ends_with("_rtt.csv") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        times.extend(
            text.lines()
                .skip(1)
                .filter_map(|line| line.split(';').nth(1)?.trim().parse::<f64>().ok()),
        );
    }
    Ok(times)
}

async fn media_cpu(options: &Options) -> anyhow::Result<serde_json::Value> {
    let caller = Phone::start(
        PhoneSettings::direct("127.0.0.1:0".parse()?),
        Arc::new(ToneDevices),
    )
    .await?;
    let callee = answering_phone().await?;
    let stretch = Duration::from_secs(options.seconds);

    let idle = cpu_over(stretch).await?;
    let mut events = caller.events().context("the caller's events")?;
    let call = caller
        .dial(&format!("sip:agent@{}", callee.address()))
        .await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(PhoneEvent::Call(CallEvent::Established { .. }))) => break,
            Ok(Some(PhoneEvent::Call(CallEvent::Ended { reason, .. }))) => {
                bail!("the benchmark's call ended before it began: {reason:?}")
            }
            Ok(Some(_)) => {}
            _ => bail!("the benchmark's call was never answered"),
        }
    }
    let talking = cpu_over(stretch).await?;
    let stats = caller.stats(&call)?.context("the call's media runs")?;
    caller.stop().await;
    callee.stop().await;

    let per_call = (talking - idle).max(0.0) / 2.0;
    Ok(json!({
        "seconds": options.seconds,
        "idle_process": idle,
        "two_ends_talking": talking,
        "one_call": per_call,
        "packets_sent": stats.packets_sent,
        "packets_received": stats.packets_received,
    }))
}

/// This process's CPU time over `stretch`, as a percentage of one core.
async fn cpu_over(stretch: Duration) -> anyhow::Result<f64> {
    let before = cpu_time()?;
    let started = Instant::now();
    tokio::time::sleep(stretch).await;
    let used = cpu_time()? - before;
    Ok(100.0 * used / started.elapsed().as_secs_f64())
}

/// This process's user and system CPU seconds, from `/proc/self/stat`.
fn cpu_time() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("an unreadable /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |index: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(index)
            .context("a short /proc/self/stat")?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let clock_ticks = 100.0;
    Ok((ticks(11)? + ticks(12)?) / clock_ticks)
}
