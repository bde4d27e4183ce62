//! Registration against a real registrar: kamailio on loopback, with digest authentication
//! from an in-memory table. The right password registers; a wrong one is refused.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use switchboard_voice::sip::{Account, Phone, PhoneError};

/// A kamailio registrar on a free loopback port, stopped when dropped.
struct Registrar {
    child: Child,
    address: SocketAddr,
    _folder: tempfile::TempDir,
}

impl Registrar {
    fn start(user: &str, password: &str) -> anyhow::Result<Registrar> {
        let folder = tempfile::tempdir()?;
        // A port that was free a moment ago; kamailio cannot be told to pick one itself.
        let address = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let config = folder.path().join("kamailio.cfg");
        std::fs::write(
            &config,
            CONFIG
                .replace("LISTEN", &address.to_string())
                .replace("USER", user)
                .replace("PASSWORD", password),
        )?;
        let run = folder.path().join("run");
        std::fs::create_dir_all(&run)?;

        let mut child = Command::new("kamailio")
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

        // Ready once its UDP socket is open: requests sent after that wait in the socket
        // until a worker reads them.
        let stderr = child.stderr.take().context("kamailio's log")?;
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let Some(line) = lines.next() else {
                let _ = child.wait();
                bail!("kamailio exited before it listened");
            };
            if line?.contains("SO_RCVBUF is finally") {
                break;
            }
        }
        // Keep reading its log, so that a full pipe never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Registrar {
            child,
            address,
            _folder: folder,
        })
    }

    fn uri(&self) -> String {
        format!("sip:{}", self.address)
    }
}

impl Drop for Registrar {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

const CONFIG: &str = r#"#!KAMAILIO
debug=2
log_stderror=yes
children=2
disable_tcp=yes
listen=udp:LISTEN
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
modparam("htable", "htable", "users=>size=4;")
event_route[htable:mod-init] { $sht(users=>USER) = "PASSWORD"; }
request_route {
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("$td", "$sht(users=>$au)", "0")) { www_challenge("$td", "1"); exit; }
    consume_credentials();
    if (!save("location")) sl_reply_error();
    exit;
  }
  sl_send_reply("404", "Not Found");
}
"#;

#[tokio::test]
async fn the_right_password_registers_and_a_wrong_one_is_refused() -> anyhow::Result<()> {
    let registrar = Registrar::start("agent", "agentpw")?;
    let phone = Phone::start("127.0.0.1:0".parse()?).await?;

    let granted = phone
        .register(
            &registrar.uri(),
            &Account {
                user: "agent".to_owned(),
                password: "agentpw".to_owned(),
            },
            300,
        )
        .await
        .context("the right password must register")?;
    assert!(
        granted > 0 && granted <= 300,
        "the registrar grants at most the expiry asked for, got {granted}"
    );

    let refused = phone
        .register(
            &registrar.uri(),
            &Account {
                user: "agent".to_owned(),
                password: "not-the-password".to_owned(),
            },
            300,
        )
        .await;
    assert!(
        matches!(refused, Err(PhoneError::Refused { status: 401 | 403 })),
        "a wrong password must be refused, not retried forever or taken: {refused:?}"
    );
    Ok(())
}
