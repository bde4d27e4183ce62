//! The real `switchboard-hub` binary, started in demo mode on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::binary;

/// A running hub; dropping it kills the process.
#[derive(Debug)]
pub struct Hub {
    child: Child,
    pub url: String,
    program: std::path::PathBuf,
    data: std::path::PathBuf,
    customers: usize,
    _data: Option<tempfile::TempDir>,
}

impl Hub {
    /// Starts the workspace's hub binary with `customers` demo customers in a temporary data
    /// folder that lives as long as the hub.
    pub fn start_demo(customers: usize) -> anyhow::Result<Hub> {
        let data = tempfile::tempdir().context("a temporary data folder")?;
        let program = binary("SWITCHBOARD_E2E_HUB", "switchboard-hub");
        let mut hub = Hub::start(&program, data.path(), customers)?;
        hub._data = Some(data);
        Ok(hub)
    }

    /// Starts the hub at `program` in demo mode on `data`, and returns once it has printed that
    /// it serves. Reading that first line blocks until the hub prints it or exits, so this
    /// waits on the hub's own readiness signal rather than on a timer.
    pub fn start(program: &Path, data: &Path, customers: usize) -> anyhow::Result<Hub> {
        let (child, url) = spawn(program, data, customers, "127.0.0.1:0")?;
        Ok(Hub {
            url,
            child,
            program: program.to_owned(),
            data: data.to_owned(),
            customers,
            _data: None,
        })
    }

    /// Starts the hub again after [`Hub::stop`], on the same address and data: the desks
    /// find it where it was, with everything it had.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let listen = self
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let (child, url) = spawn(&self.program, &self.data, self.customers, &listen)?;
        // The new process takes the place of the old one, which has exited already.
        self.child = child;
        self.url = url;
        Ok(())
    }

    /// Signs in with the login a demo hub advertises in its health answer, and returns the
    /// bearer token.
    pub async fn sign_in_as_demo_agent(&self) -> anyhow::Result<String> {
        let health: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/v1/health", self.url))
            .send()
            .await?
            .json()
            .await?;
        let demo = &health["demo_login"];
        log_in(
            &self.url,
            demo["login"].as_str().unwrap_or_default(),
            demo["password"].as_str().unwrap_or_default(),
        )
        .await
    }

    /// Stops the hub with SIGTERM, as an admin would, and waits until it has exited; returns
    /// whether it exited cleanly.
    pub fn stop(&mut self) -> anyhow::Result<bool> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("sending SIGTERM")?;
        let status = self.child.wait().context("waiting for the hub to exit")?;
        Ok(status.success())
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signs in to the hub at `hub` as `login` and returns the bearer token.
pub async fn log_in(hub: &str, login: &str, password: &str) -> anyhow::Result<String> {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{hub}/v1/auth/login"))
        .json(&serde_json::json!({"login": login, "password": password}))
        .send()
        .await?
        .error_for_status()
        .with_context(|| format!("signing in as {login}"))?
        .json()
        .await?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("a login answers with a token")
}

/// Starts the hub at `program` in demo mode on `data`, listening on `listen`, and returns the
/// process and its URL once it has printed that it serves. Reading that first line blocks
/// until the hub prints it or exits, so this waits on the hub's own readiness signal.
fn spawn(
    program: &Path,
    data: &Path,
    customers: usize,
    listen: &str,
) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(program)
        .args([
            "--listen",
            listen,
            "--demo",
            "--customers",
            &customers.to_string(),
            // Tests drive every customer themselves; simulated ones would take their agents.
            "--no-simulation",
        ])
        .arg("--data")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}; build it first", program.display()))?;

    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the hub's address")?;
    }
    let Some(url) = line.trim().strip_prefix("switchboard-hub serving on ") else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("the hub did not announce its address; it printed {line:?}");
    };
    Ok((child, url.to_owned()))
}
