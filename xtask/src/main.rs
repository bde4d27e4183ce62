//! Project automation, so that a newcomer needs two commands: `cargo xtask run` starts the demo
//! hub and the desktop window, `cargo xtask test` runs every check CI runs. Each installs what
//! is missing first (Debian packages, npm packages, tauri-driver).
//!
//! Other commands: `setup` (install only), `bindings` (regenerate the TypeScript IPC bindings),
//! `bundle` (build .deb and .rpm packages), `bench hub|cache|sync|phone` (figures, kept in
//! artifacts/bench), `fuzz` (the softphone's fuzz target).

mod bench;
mod install;
mod process;
mod run;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [--listen ADDR:PORT] [--customers N]
                 start the hub in demo mode and the desktop window on it; Ctrl-C stops both
  test           rustfmt check, clippy -D warnings, Rust tests, UI checks and unit tests,
                 end-to-end tests in the real window
  setup          install what the two commands above need, and nothing else
  bindings       regenerate ui/src/lib/ipc/bindings.ts from the Rust IPC definitions
  bundle         build the desktop's .deb and .rpm packages
  bench hub [--database sqlite|postgres|both] [--streams N] [--rate N] [--customers N]
                 load a release hub with live streams and writes; reports to artifacts/bench
  bench cache [--customers N]
                 sync a desk's cache from a hub of N customers (a million by default), then
                 time screen-pop lookups and type-ahead; report to artifacts/bench
  bench phone [--calls N] [--seconds N]
                 SIPp calls an auto-answering phone (INVITE to 200 OK), and two phones talk
                 while their media CPU is measured; report to artifacts/bench/phone.json
  bench sync [--seeds N] [--kills N]
                 the fault simulation over N seeds (3000) and N SIGKILLs (150)
  fuzz [--seconds N]
                 fuzz what a remote peer can send the softphone (RTP, DTMF, SDP) for N
                 seconds (300); crashes are kept in crates/voice/fuzz/artifacts";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        say(USAGE);
        return ExitCode::from(2);
    };

    let outcome = match command.as_str() {
        "run" => run::run(rest),
        "test" => test::test(),
        "setup" => install::everything(),
        "bindings" => bindings(),
        "bundle" => bundle(),
        "bench" => bench::bench(rest),
        "fuzz" => fuzz(rest),
        "help" | "--help" | "-h" => {
            say(USAGE);
            Ok(())
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}\n\n{USAGE}")),
    };

    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            say(&format!("xtask: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Prints a line for the person running the command. xtask talks to a terminal, so printing
/// is its job; the lint against printing is meant for the libraries.
#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

/// The workspace root, whatever folder the command was started from.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where cargo puts build outputs for this workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn bindings() -> anyhow::Result<()> {
    process::cargo(&[
        "test",
        "-p",
        "switchboard-desktop",
        "--lib",
        "committed_bindings",
    ])
    .env("SWITCHBOARD_BLESS", "1")
    .run()?;
    say("xtask: ui/src/lib/ipc/bindings.ts regenerated");
    Ok(())
}

/// Runs the softphone's fuzz target with libFuzzer. The machine's toolchain is stable, which
/// libFuzzer's instrumentation flags do not need, but cargo-fuzz asks for nightly-only options;
/// `RUSTC_BOOTSTRAP` lets stable accept them, and the sanitizer is left out because it needs a
/// nightly standard library.
fn fuzz(args: &[String]) -> anyhow::Result<()> {
    let seconds = match args {
        [] => "300".to_owned(),
        [flag, seconds] if flag == "--seconds" => seconds.clone(),
        _ => anyhow::bail!("usage: cargo xtask fuzz [--seconds N]"),
    };
    let cargo_fuzz = install::cargo_fuzz()?;
    process::Step::new(
        &cargo_fuzz.to_string_lossy(),
        &[
            "fuzz",
            "run",
            "--sanitizer",
            "none",
            "peer_input",
            "--",
            &format!("-max_total_time={seconds}"),
        ],
    )
    .dir(root().join("crates/voice"))
    .env("RUSTC_BOOTSTRAP", "1")
    .run()
}

fn bundle() -> anyhow::Result<()> {
    install::build_packages()?;
    install::ui_packages()?;

    // The Tauri CLI comes with the UI's npm packages; run from the root so that it finds
    // src-tauri. AppImage is configured for release machines but needs a download, so it is
    // not built here.
    let tauri = root().join("ui/node_modules/.bin/tauri");
    process::Step::new(&tauri.to_string_lossy(), &["build", "--bundles", "deb,rpm"]).run()?;
    say(&format!(
        "xtask: packages are in {}",
        target_dir().join("release/bundle").display()
    ));
    Ok(())
}
