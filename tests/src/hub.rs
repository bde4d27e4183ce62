//! The real `switchboard-hub` binary, started in demo mode in a temporary data folder.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::binary;

/// A running hub; dropping it kills the process.
#[derive(Debug)]
pub struct Hub {
    child: Child,
    pub url: String,
    _data: tempfile::TempDir,
}

impl Hub {
    /// Starts a demo hub with `customers` seeded customers on a free loopback port, and returns
    /// once it has printed that it serves.
    pub fn start_demo(customers: usize) -> anyhow::Result<Hub> {
        let path = binary("SWITCHBOARD_E2E_HUB", "switchboard-hub");
        let data = tempfile::tempdir().context("a temporary data folder")?;
        let mut child = Command::new(&path)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--demo",
                "--customers",
                &customers.to_string(),
            ])
            .arg("--data")
            .arg(data.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}; build it first", path.display()))?;

        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout)
                .read_line(&mut line)
                .context("reading the hub's address")?;
        }
        let Some(url) = line.trim().strip_prefix("switchboard-hub serving on ") else {
            let _ = child.kill();
            bail!("the hub did not announce its address; it printed {line:?}");
        };
        Ok(Hub {
            url: url.to_owned(),
            child,
            _data: data,
        })
    }

    /// Stops the hub with SIGTERM, as an admin would, and waits until it has exited.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("sending SIGTERM")?;
        self.child.wait().context("waiting for the hub to exit")?;
        Ok(())
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
