//! `cargo xtask test`: every check CI runs, in the order that fails fastest, ending with one
//! summary line of how many tests passed and failed.

use anyhow::bail;

use crate::process::{Step, cargo};
use crate::{install, say, target_dir};

pub fn test() -> anyhow::Result<()> {
    install::everything()?;
    let tauri_driver = install::tauri_driver()?;

    cargo(&["fmt", "--all", "--", "--check"]).run()?;

    // The desktop embeds ui/dist at compile time, so the UI is built before anything compiles
    // the desktop crate, clippy included.
    install::build_ui()?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])
    .run()?;

    let ui = crate::root().join("ui");
    Step::new("npm", &["run", "check"]).dir(&ui).run()?;
    let (ui_ok, ui_lines) = Step::new("npm", &["test"])
        .dir(&ui)
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .run_tee()?;
    let (ui_passed, ui_failed) = vitest_counts(&ui_lines);
    if !ui_ok {
        bail!("the UI unit tests failed");
    }

    // One cargo invocation builds every test and the two executables the end-to-end tests
    // launch (both crates have integration tests of their binaries); a separate build step
    // would resolve features differently and compile much of the tree twice.
    //
    // A private session bus keeps WebKit and, later, the keyring from reaching (or starting)
    // anything outside the test run.
    let bin = target_dir().join("debug");
    let cargo_program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let (rust_ok, rust_lines) = Step::new("dbus-run-session", &["--", &cargo_program])
        .arg("test")
        .arg("--workspace")
        .arg("--all-targets")
        .env("SWITCHBOARD_E2E_APP", bin.join("switchboard"))
        .env("SWITCHBOARD_E2E_HUB", bin.join("switchboard-hub"))
        .env("SWITCHBOARD_E2E_TAURI_DRIVER", &tauri_driver)
        .run_tee()?;
    let (rust_passed, rust_failed) = cargo_counts(&rust_lines);

    // The one line CI reads: every test that ran, Rust and UI together.
    let passed = rust_passed + ui_passed;
    let failed = rust_failed + ui_failed;
    say("");
    println_summary(passed, failed);
    if !rust_ok || failed > 0 {
        bail!("{failed} test(s) failed");
    }
    if rust_passed == 0 {
        bail!("no Rust test ran; the test command is broken");
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
fn println_summary(passed: usize, failed: usize) {
    println!("tests: {passed} passed, {failed} failed");
}

/// Sums cargo's `test result: ok. N passed; M failed; ...` lines.
fn cargo_counts(lines: &[String]) -> (usize, usize) {
    let mut totals = (0, 0);
    for line in lines.iter().filter(|line| line.starts_with("test result:")) {
        totals.0 += number_before(line, " passed");
        totals.1 += number_before(line, " failed");
    }
    totals
}

/// Reads vitest's `Tests  N passed (N)` or `Tests  F failed | P passed (N)` line.
fn vitest_counts(lines: &[String]) -> (usize, usize) {
    let plain: Vec<String> = lines.iter().map(|line| strip_ansi(line)).collect();
    let Some(line) = plain
        .iter()
        .find(|line| line.trim_start().starts_with("Tests "))
    else {
        return (0, 0);
    };
    (
        number_before(line, " passed"),
        number_before(line, " failed"),
    )
}

/// Removes terminal colour sequences, in case a tool colours output that is not a terminal.
fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // A CSI sequence ends at its first letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The number written just before `word` in `line`, or 0.
fn number_before(line: &str, word: &str) -> usize {
    let Some(end) = line.find(word) else { return 0 };
    let head = &line[..end];
    let start = head
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |at| at + 1);
    head[start..].parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn cargo_result_lines_are_summed() {
        let output = lines(
            "running 3 tests\n\
             test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\
             test result: FAILED. 8 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n",
        );
        assert_eq!(
            cargo_counts(&output),
            (11, 1),
            "every binary's counts are added up"
        );
    }

    #[test]
    fn vitest_summary_lines_are_read() {
        let passing = lines(" Test Files  3 passed (3)\n      Tests  14 passed (14)\n");
        assert_eq!(
            vitest_counts(&passing),
            (14, 0),
            "the Tests line, not the Test Files line"
        );

        let failing = lines("      Tests  2 failed | 12 passed (14)\n");
        assert_eq!(vitest_counts(&failing), (12, 2), "failures are counted too");

        let coloured =
            lines("\u{1b}[2m      Tests \u{1b}[22m \u{1b}[1m\u{1b}[32m3 passed\u{1b}[39m\n");
        assert_eq!(
            vitest_counts(&coloured),
            (3, 0),
            "colour codes do not hide the counts"
        );
    }
}
