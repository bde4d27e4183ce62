//! The real SIP peers the phone's tests talk to, started on free loopback ports and stopped
//! when dropped: baresip (a softphone scripted through its `ctrl_tcp` module, which plays a
//! tone and records what it hears) and kamailio (a registrar and proxy with digest
//! authentication from an in-memory table).

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use switchboard_voice::audio::{AudioDevices, AudioSink, AudioSource, Recording, Tone};
use switchboard_voice::call::{CallEvent, CallId, EndReason, Side};
use switchboard_voice::phone::PhoneEvent;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc::UnboundedReceiver;

/// Longest a step may take before the test gives up on it: a guard against hanging, not a
/// measure; every step normally takes milliseconds.
pub const GUARD: Duration = Duration::from_secs(20);

/// The tone baresip plays into every call.
pub const BARESIP_TONE: f64 = 1_000.0;

/// The tone the phone under test plays into every call.
pub const PHONE_TONE: f64 = 1_500.0;

/// Audio devices for the phone under test: every call plays [`PHONE_TONE`] and is recorded
/// where the test can look.
#[derive(Default, Clone)]
pub struct TestDevices {
    pub recordings: Arc<std::sync::Mutex<Vec<(String, Recording)>>>,
}

impl TestDevices {
    /// What the phone heard on `call`.
    pub fn recording(&self, call: &str) -> anyhow::Result<Recording> {
        let recordings = self
            .recordings
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        recordings
            .iter()
            .find(|(id, _)| id == call)
            .map(|(_, recording)| recording.clone())
            .with_context(|| format!("call {call} has no media"))
    }
}

impl AudioDevices for TestDevices {
    fn open(&self, call: &str) -> (Box<dyn AudioSource>, Box<dyn AudioSink>) {
        let recording = Recording::new();
        if let Ok(mut recordings) = self.recordings.lock() {
            recordings.push((call.to_owned(), recording.clone()));
        }
        (Box::new(Tone::new(PHONE_TONE)), recording.sink())
    }
}

/// How a baresip instance reaches the world.
pub enum Account<'a> {
    /// Called and calling directly, answering as `answermode` says (`manual` or `auto`).
    Direct { answermode: &'a str },
    /// Registered at `registrar` with `password`.
    Registered {
        registrar: SocketAddr,
        password: &'a str,
        answermode: &'a str,
    },
}

/// A baresip instance with one account, stopped when dropped.
pub struct Baresip {
    child: Child,
    /// Where it takes SIP.
    pub sip: SocketAddr,
    pub user: String,
    control: TcpStream,
    buffered: Vec<u8>,
    folder: tempfile::TempDir,
}

impl Baresip {
    pub async fn start(user: &str, account: Account<'_>) -> anyhow::Result<Baresip> {
        // Its ports are picked free a moment before it binds them, and it also binds TCP on
        // its SIP port number, which another test may hold by then; so a start that fails is
        // tried again on other ports, and its own output says why when every attempt fails.
        let mut failures = Vec::new();
        for _ in 0..5 {
            match Baresip::try_start(user, &account).await {
                Ok(baresip) => return Ok(baresip),
                Err(error) => failures.push(format!("{error:#}")),
            }
        }
        bail!("baresip did not start: {}", failures.join("; "))
    }

    /// The address a call to it dials.
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.user, self.sip)
    }

    async fn try_start(user: &str, account: &Account<'_>) -> anyhow::Result<Baresip> {
        let folder = tempfile::tempdir()?;
        let sip = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let control = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let tone = folder.path().join("tone.wav");
        let samples = switchboard_voice::tone::sine(BARESIP_TONE, 8_000.0, 8_000.0, 0, 8_000 * 120);
        switchboard_voice::audio::write_wav(&tone, &samples)?;
        let heard = folder.path().join("heard");
        std::fs::create_dir_all(&heard)?;
        std::fs::write(
            folder.path().join("config"),
            format!(
                "poll_method epoll\nsip_listen {sip}\nnet_interface 127.0.0.1\n\
                 audio_player alsa,null\naudio_alert alsa,null\n\
                 audio_source aufile,{tone}\nrtp_ports 30000-39999\n\
                 module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
                 module alsa.so\nmodule sndfile.so\nsnd_path {heard}\n\
                 module_tmp account.so\nmodule_app menu.so\n\
                 module_app ctrl_tcp.so\nctrl_tcp_listen {control}\n",
                tone = tone.display(),
                heard = heard.display(),
            ),
        )?;
        // A registered account is added once the control connection is up (below), so that
        // its REGISTER_OK cannot come before anyone listens for it.
        let (line, registers) = match account {
            Account::Direct { answermode } => (
                format!(
                    "<sip:{user}@127.0.0.1>;regint=0;audio_codecs=PCMU;answermode={answermode}"
                ),
                false,
            ),
            Account::Registered {
                registrar,
                password,
                answermode,
            } => (
                format!(
                    "<sip:{user}@{host};transport=udp>;auth_pass={password};regint=60;\
                     outbound=\"sip:{registrar}\";audio_codecs=PCMU;answermode={answermode}",
                    host = registrar.ip(),
                ),
                true,
            ),
        };
        let accounts = if registers {
            String::new()
        } else {
            format!("{line}\n")
        };
        std::fs::write(folder.path().join("accounts"), accounts)?;
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
        let mut baresip = Baresip {
            child,
            sip,
            user: user.to_owned(),
            control,
            buffered: Vec::new(),
            folder,
        };
        if registers {
            baresip.command("uanew", &line).await?;
        }
        Ok(baresip)
    }

    /// Runs a menu command, such as `dial sip:…` or `hangup`, without waiting for its answer.
    pub async fn command(&mut self, command: &str, params: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({"command": command, "params": params}).to_string();
        self.control
            .write_all(format!("{}:{body},", body.len()).as_bytes())
            .await?;
        Ok(())
    }

    /// Waits for the event of `kind`, skipping others and command responses.
    pub async fn event(&mut self, kind: &str) -> anyhow::Result<Value> {
        tokio::time::timeout(GUARD, async {
            loop {
                let message = self.next_message().await?;
                if message["event"] == true && message["type"] == kind {
                    return Ok(message);
                }
            }
        })
        .await
        .with_context(|| format!("baresip {} never reported {kind}", self.user))?
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

    /// What baresip heard on its calls so far (its sndfile module's decoded recordings, in
    /// the order they were made, joined).
    pub fn heard(&self) -> anyhow::Result<Vec<i16>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder.path().join("heard"))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.to_string_lossy().ends_with("-dec.wav"))
            .collect();
        files.sort();
        let mut samples = Vec::new();
        for file in files {
            let bytes = std::fs::read(&file)?;
            samples.extend(
                switchboard_voice::audio::parse_wav(&bytes)
                    .map_err(|reason| anyhow::anyhow!("{}: {reason}", file.display()))?,
            );
        }
        Ok(samples)
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A kamailio registrar and proxy on a free loopback port, stopped when dropped. Its users
/// and passwords are given at start; REGISTER is challenged (401), other requests from
/// outside are challenged as a proxy (407), and calls are routed to registered contacts.
pub struct Kamailio {
    child: std::process::Child,
    pub address: SocketAddr,
    _folder: tempfile::TempDir,
}

impl Kamailio {
    pub fn start(users: &[(&str, &str)]) -> anyhow::Result<Kamailio> {
        Kamailio::start_requiring(users, None)
    }

    /// Like [`Kamailio::start`], but requests from `user` that do not arrive over TCP are
    /// refused (403): how a test proves the phone speaks TCP.
    pub fn start_requiring_tcp_from(
        users: &[(&str, &str)],
        user: &str,
    ) -> anyhow::Result<Kamailio> {
        Kamailio::start_requiring(users, Some(user))
    }

    /// Its port is picked free a moment before it binds it, for UDP and TCP both, and another
    /// test may take either by then; so a start whose kamailio does not answer is tried again
    /// on another port, and every attempt's reason is kept.
    fn start_requiring(users: &[(&str, &str)], tcp_user: Option<&str>) -> anyhow::Result<Kamailio> {
        let mut failures = Vec::new();
        for _ in 0..5 {
            match Kamailio::try_start(users, tcp_user) {
                Ok(kamailio) => return Ok(kamailio),
                Err(error) => failures.push(format!("{error:#}")),
            }
        }
        bail!("kamailio did not start: {}", failures.join("; "))
    }

    fn try_start(users: &[(&str, &str)], tcp_user: Option<&str>) -> anyhow::Result<Kamailio> {
        use std::io::BufRead;

        let folder = tempfile::tempdir()?;
        // A port that was free a moment ago; kamailio cannot be told to pick one itself.
        let address = loop {
            let udp = UdpSocket::bind("127.0.0.1:0")?;
            let address = udp.local_addr()?;
            if TcpListener::bind(address).is_ok() {
                break address;
            }
        };
        let table: String = users
            .iter()
            .map(|(user, password)| format!("$sht(users=>{user}) = \"{password}\"; "))
            .collect();
        let config = folder.path().join("kamailio.cfg");
        std::fs::write(
            &config,
            KAMAILIO_CONFIG
                .replace("LISTEN", &address.to_string())
                .replace("USERS", &table)
                .replace(
                    "TCP_ONLY",
                    &tcp_user
                        .map(|user| {
                            format!(
                                "if ($fU == \"{user}\" && $pr != \"tcp\") \
                                 {{ sl_send_reply(\"403\", \"TCP only\"); exit; }}"
                            )
                        })
                        .unwrap_or_default(),
                ),
        )?;
        let run = folder.path().join("run");
        std::fs::create_dir_all(&run)?;

        let mut child = std::process::Command::new("kamailio")
            .args(["-DD", "-E", "-m", "32", "-M", "8", "-f"])
            .arg(&config)
            .arg("-Y")
            .arg(&run)
            .arg("-P")
            .arg(folder.path().join("kamailio.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start kamailio; `cargo xtask setup` installs it")?;

        // Ready once its sockets are open: requests sent after that wait in the socket until
        // a worker reads them.
        let stderr = child.stderr.take().context("kamailio's log")?;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut said = Vec::new();
        loop {
            let Some(line) = lines.next() else {
                let _ = child.wait();
                bail!(
                    "kamailio exited before it listened: {:?}",
                    said.iter().rev().take(5).collect::<Vec<_>>()
                );
            };
            let line = line?;
            if line.contains("SO_RCVBUF is finally") {
                break;
            }
            said.push(line);
        }
        // Keep reading its log, so that a full pipe never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        let kamailio = Kamailio {
            child,
            address,
            _folder: folder,
        };

        // Its UDP socket is open, but it may still fail on its TCP one and exit: it counts
        // as started once it answers a request.
        kamailio
            .answers()
            .context("kamailio started but does not answer")?;
        Ok(kamailio)
    }

    /// Sends OPTIONS until any answer comes (a challenge will do), for up to five seconds.
    fn answers(&self) -> anyhow::Result<()> {
        let probe = UdpSocket::bind("127.0.0.1:0")?;
        let from = probe.local_addr()?;
        probe.set_read_timeout(Some(Duration::from_millis(250)))?;
        let options = format!(
            "OPTIONS sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK-probe;rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:probe@{from}>;tag=probe\r\nTo: <sip:{to}>\r\n\
             Call-ID: probe@{from}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            to = self.address,
        );
        let mut answer = [0u8; 2048];
        for _ in 0..20 {
            probe.send_to(options.as_bytes(), self.address)?;
            if probe.recv_from(&mut answer).is_ok() {
                return Ok(());
            }
        }
        bail!("no answer to OPTIONS on {}", self.address)
    }

    pub fn uri(&self) -> String {
        format!("sip:{}", self.address)
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

const KAMAILIO_CONFIG: &str = r#"#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
listen=udp:LISTEN
listen=tcp:LISTEN
tcp_connection_lifetime=3605
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "htable.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 2)
modparam("htable", "htable", "users=>size=4;")
event_route[htable:mod-init] { USERS }
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  TCP_ONLY
  if (has_totag()) {
    if (loose_route() || is_method("ACK|BYE|NOTIFY|INVITE|REFER|INFO|UPDATE")) { t_relay(); }
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  t_check_trans();
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("$td", "$sht(users=>$au)", "0")) { www_challenge("$td", "1"); exit; }
    consume_credentials();
    if (!save("location")) sl_reply_error();
    exit;
  }
  if (!pv_proxy_authenticate("$fd", "$sht(users=>$au)", "0")) { proxy_challenge("$fd", "1"); exit; }
  consume_credentials();
  if (is_method("INVITE|SUBSCRIBE|REFER")) record_route();
  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  t_relay();
}
"#;

/// The phone's next event, whatever it is.
pub async fn next_event(events: &mut UnboundedReceiver<PhoneEvent>) -> anyhow::Result<PhoneEvent> {
    tokio::time::timeout(GUARD, events.recv())
        .await
        .context("the phone reported nothing")?
        .context("the phone's events ended")
}

/// The next call event that `pick` takes, skipping the rest (progress, registrations).
pub async fn call_event<T>(
    events: &mut UnboundedReceiver<PhoneEvent>,
    what: &str,
    mut pick: impl FnMut(CallEvent) -> Option<T>,
) -> anyhow::Result<T> {
    let mut skipped = Vec::new();
    loop {
        let event = next_event(events)
            .await
            .with_context(|| format!("waiting for {what}; skipped {skipped:?}"))?;
        if let PhoneEvent::Call(event) = event {
            let shown = format!("{event:?}");
            if let Some(picked) = pick(event) {
                return Ok(picked);
            }
            skipped.push(shown);
        }
    }
}

/// The call that arrives next, and who calls.
pub async fn incoming(
    events: &mut UnboundedReceiver<PhoneEvent>,
) -> anyhow::Result<(CallId, String)> {
    call_event(events, "a call to arrive", |event| match event {
        CallEvent::Incoming { call, caller, .. } => Some((call, caller)),
        _ => None,
    })
    .await
}

pub async fn established(events: &mut UnboundedReceiver<PhoneEvent>) -> anyhow::Result<CallId> {
    call_event(events, "a call to be established", |event| match event {
        CallEvent::Established { call } => Some(call),
        _ => None,
    })
    .await
}

pub async fn ended(
    events: &mut UnboundedReceiver<PhoneEvent>,
) -> anyhow::Result<(CallId, EndReason, Duration)> {
    call_event(events, "a call to end", |event| match event {
        CallEvent::Ended {
            call,
            reason,
            talked,
        } => Some((call, reason, talked)),
        _ => None,
    })
    .await
}

pub async fn held(events: &mut UnboundedReceiver<PhoneEvent>) -> anyhow::Result<Side> {
    call_event(events, "the call to be held", |event| match event {
        CallEvent::Held { by, .. } => Some(by),
        _ => None,
    })
    .await
}

pub async fn resumed(events: &mut UnboundedReceiver<PhoneEvent>) -> anyhow::Result<Side> {
    call_event(events, "the call to be resumed", |event| match event {
        CallEvent::Resumed { by, .. } => Some(by),
        _ => None,
    })
    .await
}

/// Waits until `recording` holds `seconds` more of audio than now, then returns that new
/// stretch: the media clock, not a timer, measures it.
pub async fn listen(recording: &Recording, seconds: f64) -> anyhow::Result<Vec<i16>> {
    let from = recording.samples().len();
    let until = from + (seconds * 8_000.0) as usize;
    tokio::time::timeout(GUARD, recording.until_len(until))
        .await
        .context("the call's audio stopped flowing")?;
    Ok(recording.samples()[from..until].to_vec())
}

/// Whether `samples` carry `frequency` in most of their 20 ms frames.
pub fn carries(samples: &[i16], frequency: f64) -> bool {
    switchboard_voice::tone::presence(samples, frequency, 8_000.0) > 0.7
}
