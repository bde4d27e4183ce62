//! Installs what the project needs on a Debian machine, and only what is missing, so that a
//! second run costs a few checks and no downloads.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::process::{Step, cargo};
use crate::{root, say};

/// Debian packages needed to build the desktop (WebKitGTK and friends) and the hub.
const BUILD_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "file",
    "libwebkit2gtk-4.1-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libssl-dev",
    // The softphone's headset, through cpal and ALSA.
    "libasound2-dev",
];

/// Debian packages the tests start: a virtual display, the WebKit WebDriver, a session bus,
/// PostgreSQL (each test runs its own throwaway cluster on loopback; the system one is unused)
/// kamailio and baresip (the softphone's tests run their own registrar and SIP phones on free
/// loopback ports).
const TEST_PACKAGES: &[&str] = &[
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "dbus",
    "postgresql",
    "postgresql-client",
    // The customer's web chat page is tested in a real browser.
    "chromium",
    "chromium-driver",
    "kamailio",
    "baresip-core",
];

/// Everything `run` and `test` need.
pub fn everything() -> anyhow::Result<()> {
    build_packages()?;
    test_packages()?;
    ui_packages()?;
    tauri_driver()?;
    Ok(())
}

pub fn build_packages() -> anyhow::Result<()> {
    apt(BUILD_PACKAGES)
}

pub fn test_packages() -> anyhow::Result<()> {
    apt(TEST_PACKAGES)
}

/// Installs the Debian `packages` that are not installed yet.
fn apt(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !deb_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    say(&format!(
        "xtask: installing Debian packages: {}",
        missing.join(" ")
    ));

    // Root installs directly (CI, containers); anyone else goes through sudo.
    let is_root = Step::new("id", &["-u"])
        .output()
        .is_ok_and(|uid| uid.trim() == "0");
    let (program, prefix): (&str, &[&str]) = if is_root {
        ("apt-get", &[])
    } else {
        ("sudo", &["apt-get"])
    };

    let mut update: Vec<&str> = prefix.to_vec();
    update.extend(["update", "-q"]);
    Step::new(program, &update)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;

    // Another apt may hold the lock for a while (unattended upgrades): wait for it.
    let mut install: Vec<&str> = prefix.to_vec();
    install.extend([
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "-o",
        "DPkg::Lock::Timeout=600",
    ]);
    install.extend(&missing);
    Step::new(program, &install)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;

    let still_missing: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|package| !deb_installed(package))
        .collect();
    if !still_missing.is_empty() {
        bail!(
            "apt did not install {}; install them by hand",
            still_missing.join(" ")
        );
    }
    Ok(())
}

fn deb_installed(package: &str) -> bool {
    Step::new("dpkg-query", &["-W", "-f=${db:Status-Status}", package])
        .output()
        .is_ok_and(|status| status.trim() == "installed")
}

/// The oldest Node.js the UI's build tools (Vite 8) run on.
const NODE_MINIMUM: (u32, u32) = (20, 19);

/// Installs the UI's npm packages when they are absent or older than the lock file.
pub fn ui_packages() -> anyhow::Result<()> {
    check_node()?;

    let ui = root().join("ui");
    let lock = ui.join("package-lock.json");
    let installed = ui.join("node_modules/.package-lock.json");

    let modified = |path: &PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&installed), modified(&lock)) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    Step::new("npm", &["ci", "--no-audit", "--no-fund"])
        .dir(ui)
        .run()
}

/// Fails early, with advice, on a Node.js too old for the UI's tools: Debian 12's own package
/// is 18.x, and Vite's error for it is cryptic.
fn check_node() -> anyhow::Result<()> {
    let version = Step::new("node", &["--version"])
        .output()
        .context("Node.js is not installed; install Node.js 20.19 or newer with npm")?;
    let Some(found) = parse_node_version(&version) else {
        bail!("cannot read the Node.js version from {version:?}");
    };
    if found < NODE_MINIMUM {
        bail!(
            "Node.js {}.{} is too old for the UI's build tools; install {}.{} or newer",
            found.0,
            found.1,
            NODE_MINIMUM.0,
            NODE_MINIMUM.1
        );
    }
    Ok(())
}

/// Reads `v20.19.2` as (20, 19).
fn parse_node_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

/// Installs tauri-driver, the WebDriver bridge the end-to-end tests drive the window through.
pub fn tauri_driver() -> anyhow::Result<PathBuf> {
    let path = cargo_bin_dir().join("tauri-driver");
    if Step::new(&path.to_string_lossy(), &["--help"]).succeeds() {
        return Ok(path);
    }
    cargo(&["install", "tauri-driver", "--version", "^2", "--locked"]).run()?;
    if !path.exists() {
        bail!("cargo install did not produce {}", path.display());
    }
    Ok(path)
}

/// Installs SIPp (Debian's sip-tester), which the phone benchmark calls the phone with.
pub fn sip_load_tool() -> anyhow::Result<()> {
    apt(&["sip-tester"])
}

/// Installs cargo-fuzz, which runs the fuzz targets under libFuzzer.
pub fn cargo_fuzz() -> anyhow::Result<PathBuf> {
    let path = cargo_bin_dir().join("cargo-fuzz");
    if Step::new(&path.to_string_lossy(), &["--version"]).succeeds() {
        return Ok(path);
    }
    cargo(&["install", "cargo-fuzz", "--version", "^0.13", "--locked"]).run()?;
    if !path.exists() {
        bail!("cargo install did not produce {}", path.display());
    }
    Ok(path)
}

/// Builds the UI into ui/dist, which the desktop binary embeds at compile time.
pub fn build_ui() -> anyhow::Result<()> {
    Step::new("npm", &["run", "build"])
        .dir(root().join("ui"))
        .run()
        .context("building the UI")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_compare_by_major_then_minor() {
        assert_eq!(
            parse_node_version("v20.20.2\n"),
            Some((20, 20)),
            "node prints a leading v"
        );
        assert!(
            parse_node_version("v18.19.0").is_some_and(|v| v < NODE_MINIMUM),
            "18 is too old"
        );
        assert!(
            parse_node_version("v22.1.0").is_some_and(|v| v >= NODE_MINIMUM),
            "22 is fine"
        );
        assert_eq!(
            parse_node_version("not node"),
            None,
            "garbage is not a version"
        );
    }
}
