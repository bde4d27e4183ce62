//! Headless Chromium under chromedriver, for the pages the hub serves to customers' browsers.
//! Debian's `chromium` and `chromium-driver`; the driver runs in its own process group on a free
//! loopback port and is stopped with everything it started.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::{free_port, kill_group, terminate_group, wait};

/// A running chromedriver; dropping it stops the driver and its browsers.
#[derive(Debug)]
pub struct Chromium {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Chromium {
    /// Starts chromedriver and returns once it accepts connections.
    pub fn start(log: &Path) -> anyhow::Result<Chromium> {
        let port = free_port();
        let log_file = std::fs::File::create(log).context("the driver's log file")?;
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .process_group(0)
            .stdout(Stdio::from(
                log_file.try_clone().context("the driver's log")?,
            ))
            .stderr(Stdio::from(log_file))
            .spawn()
            .context("cannot start chromedriver; run `cargo xtask setup` (chromium-driver)")?;
        let driver = Chromium {
            child,
            port,
            profile: tempfile::tempdir().context("a browser profile folder")?,
        };
        wait::until("chromedriver to listen", Duration::from_secs(30), || {
            wait::port_open(port).then_some(())
        })?;
        Ok(driver)
    }

    /// The process group id of the driver and every browser it started.
    pub fn group(&self) -> u32 {
        self.child.id()
    }

    /// Opens a headless browser session.
    pub async fn session(&self) -> anyhow::Result<Client> {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new",
                    // Chromium's sandbox needs user namespaces that CI's root containers lack.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("cannot open a Chromium session")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        terminate_group(self.child.id());
        let stopped = wait::until("chromedriver to exit", Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_))).then_some(())
        });
        if stopped.is_err() {
            kill_group(self.child.id());
            let _ = self.child.wait();
        }
    }
}
