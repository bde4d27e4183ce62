//! The harness of Switchboard's cross-crate and end-to-end tests: real processes (the hub
//! binary, Xvfb, tauri-driver with WebKitWebDriver, the desktop app, headless Chromium) started
//! on loopback and stopped when a test ends, however it ends.
//!
//! Everything here waits for a condition (a line printed, a socket accepting, an element
//! appearing), never for a fixed time.

pub mod browser;
pub mod display;
pub mod driver;
pub mod hub;
pub mod page;
pub mod postgres;
pub mod wait;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A built binary: from `variable` when set (xtask sets it), else from target/debug.
pub fn binary(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join(name)
}

/// A folder for what a test leaves behind for people (screenshots, metrics); not committed.
pub fn artifacts_dir(test: &str) -> PathBuf {
    let dir = workspace_root().join("artifacts").join(test);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or(0)
}

/// Sends SIGTERM to a whole process group, so that children (the app, WebKit's helpers) go too.
pub fn terminate_group(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", "--", &format!("-{pgid}")])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Sends SIGKILL to a whole process group.
pub fn kill_group(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(std::process::Stdio::null())
        .status();
}
