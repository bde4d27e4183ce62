//! The desktop app under WebDriver: tauri-driver (which runs WebKitWebDriver, which launches
//! the app) in its own process group, and a fantoccini client talking to it.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::{binary, free_port, kill_group, terminate_group, wait};

/// A running tauri-driver; dropping it stops the driver, WebKitWebDriver and the app.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    pub port: u16,
    /// The app's home for this run: its settings, window state and logs live here.
    pub home: tempfile::TempDir,
}

impl Driver {
    /// Starts tauri-driver on free ports, with the app told to use `hub_url` and to keep its
    /// files in a fresh temporary home, and returns once both driver ports accept connections.
    pub fn start(display: &str, hub_url: &str, log: &Path) -> anyhow::Result<Driver> {
        let program = std::env::var_os("SWITCHBOARD_E2E_TAURI_DRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("tauri-driver"));
        let port = free_port();
        let native_port = free_port();
        let home = tempfile::tempdir().context("a temporary home for the app")?;
        let log_file = std::fs::File::create(log).context("the driver's log file")?;

        let child = Command::new(&program)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", display)
            .env_remove("WAYLAND_DISPLAY")
            .env("SWITCHBOARD_HUB_URL", hub_url)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            // Its own process group, so that teardown reaches the app and WebKit's helpers.
            .process_group(0)
            .stdout(Stdio::from(
                log_file.try_clone().context("the driver's log file")?,
            ))
            .stderr(Stdio::from(log_file))
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {}; run `cargo xtask setup`",
                    program.display()
                )
            })?;
        let driver = Driver { child, port, home };

        // tauri-driver listens before WebKitWebDriver does; a session needs both.
        wait::until(
            "tauri-driver and WebKitWebDriver to listen",
            Duration::from_secs(30),
            || (wait::port_open(port) && wait::port_open(native_port)).then_some(()),
        )?;
        Ok(driver)
    }

    /// Opens a WebDriver session, which launches the app at `application`.
    pub async fn session(&self, application: &Path) -> anyhow::Result<Client> {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "wry".into());
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": application.display().to_string() }),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("cannot open a WebDriver session with the app")
    }

    /// Writes the app's settings file in its home; call it before [`Driver::session`] launches
    /// the app.
    pub fn write_settings(&self, text: &str) -> anyhow::Result<()> {
        let folder = self.home.path().join("config").join("switchboard");
        std::fs::create_dir_all(&folder).context("the app's settings folder")?;
        std::fs::write(folder.join("settings.toml"), text).context("the app's settings file")
    }

    /// The process group id of the driver and everything it started.
    pub fn group(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        terminate_group(self.child.id());
        let stopped = wait::until("the driver to exit", Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_))).then_some(())
        });
        if stopped.is_err() {
            kill_group(self.child.id());
            let _ = self.child.wait();
        }
    }
}

/// The desktop binary the tests launch.
pub fn app_binary() -> PathBuf {
    binary("SWITCHBOARD_E2E_APP", "switchboard")
}

/// Memory of a process and all its descendants, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeMemory {
    pub processes: usize,
    pub rss_kib: u64,
    pub pss_kib: u64,
}

/// One process's memory, in KiB, from /proc/PID/smaps_rollup. PSS splits shared pages fairly
/// between the processes that map them, so summed over a tree it is the honest total; its
/// file part is mapped files (libraries, a memory-mapped database), which the system can drop
/// and read again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessMemory {
    pub pid: u32,
    pub name: String,
    pub rss_kib: u64,
    pub pss_kib: u64,
    pub pss_anon_kib: u64,
    pub pss_file_kib: u64,
}

/// Sums resident and proportional set sizes over `root` and its descendants.
pub fn tree_memory(root: u32) -> TreeMemory {
    let each = process_memory(root);
    TreeMemory {
        processes: each.len(),
        rss_kib: each.iter().map(|process| process.rss_kib).sum(),
        pss_kib: each.iter().map(|process| process.pss_kib).sum(),
    }
}

/// The memory of `root` and of each of its descendants, `root` first.
pub fn process_memory(root: u32) -> Vec<ProcessMemory> {
    let mut pids = vec![root];
    pids.extend(descendants(root));
    pids.into_iter()
        .filter_map(|pid| {
            let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
            let field = |key: &str| {
                rollup
                    .lines()
                    .find_map(|line| line.strip_prefix(key))
                    .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Some(ProcessMemory {
                pid,
                name: std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                rss_kib: field("Rss:"),
                pss_kib: field("Pss:"),
                pss_anon_kib: field("Pss_Anon:"),
                pss_file_kib: field("Pss_File:"),
            })
        })
        .collect()
}

/// Every process below `root` (not `root` itself), breadth first. Parents are read from each
/// process's stat, so children started by any of a parent's threads are found.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces and parentheses; fields resume after the last
            // ')': the state, then the parent's pid.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found.remove(0);
    found
}

/// The pid of the first process named `name` among `root`'s descendants.
pub fn find_descendant(root: u32, name: &str) -> Option<u32> {
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        for child in children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if comm.trim() == name {
                return Some(child);
            }
            frontier.push(child);
        }
    }
    None
}
