//! The `switchboard` executable's command line, as IT scripts and launchers use it. These runs
//! end before any window opens, so they need no display.

use std::process::Command;

fn switchboard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env_remove("SWITCHBOARD_HUB_URL")
        .output()
        .expect("the desktop binary runs")
}

#[test]
fn version_and_help_answer_without_a_window() {
    let version = switchboard(&["--version"]);
    assert!(version.status.success(), "--version succeeds");
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(
        text.starts_with("switchboard ") && text.contains(env!("CARGO_PKG_VERSION")),
        "--version names the program and its version: {text}"
    );

    let help = String::from_utf8_lossy(&switchboard(&["--help"]).stdout).into_owned();
    for option in ["--hub", "--settings"] {
        assert!(help.contains(option), "--help documents {option}: {help}");
    }
}

#[test]
fn an_unknown_option_is_refused() {
    let output = switchboard(&["--hbu", "http://127.0.0.1:1"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a typo is a usage error, not a silent default"
    );
}

#[test]
fn a_broken_settings_file_stops_the_start_and_names_the_file() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, "hub_url = [not toml").expect("write a broken settings file");

    let output = switchboard(&["--settings", path.to_str().expect("a UTF-8 path")]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "bad settings stop the start with a usage code"
    );
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("settings.toml"),
        "the message names the file the admin must fix: {error}"
    );
}

#[test]
fn a_hub_address_that_is_not_a_url_is_refused() {
    let output = switchboard(&["--hub", "not a url"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unusable hub address stops the start"
    );
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("not a url"),
        "the message quotes the bad address: {error}"
    );
}
