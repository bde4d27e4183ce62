//! Running the steps of a command: each prints what it runs and fails loudly with the step's
//! name, so a red CI log says which step broke.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::{root, say};

/// One external command to run from the workspace root unless told otherwise.
#[derive(Debug)]
pub struct Step {
    command: Command,
    shown: String,
}

impl Step {
    pub fn new(program: &str, args: &[&str]) -> Step {
        let mut command = Command::new(program);
        command.args(args).current_dir(root());
        Step {
            command,
            shown: format!("{program} {}", args.join(" ")),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Step {
        self.shown.push(' ');
        self.shown.push_str(&arg.as_ref().to_string_lossy());
        self.command.arg(arg);
        self
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Step {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Step {
        self.command.env(key, value);
        self
    }

    /// Runs to completion; an exit other than success is an error naming the step.
    pub fn run(mut self) -> anyhow::Result<()> {
        say(&format!("xtask: $ {}", self.shown));
        let status = self
            .command
            .status()
            .with_context(|| format!("cannot start `{}`", self.shown))?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.shown);
        }
        Ok(())
    }

    /// Runs to completion and returns whether it succeeded, without treating failure as an
    /// error.
    pub fn succeeds(mut self) -> bool {
        self.command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Runs and returns its standard output, for questions such as "is this installed".
    pub fn output(mut self) -> anyhow::Result<String> {
        let output = self
            .command
            .stderr(Stdio::null())
            .output()
            .with_context(|| format!("cannot start `{}`", self.shown))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Starts it in the background, sharing our terminal.
    pub fn spawn(mut self) -> anyhow::Result<Child> {
        say(&format!("xtask: $ {} &", self.shown));
        self.command
            .spawn()
            .with_context(|| format!("cannot start `{}`", self.shown))
    }

    /// Starts it in the background with standard output piped.
    pub fn spawn_piped(mut self) -> anyhow::Result<Child> {
        say(&format!("xtask: $ {} &", self.shown));
        self.command
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{}`", self.shown))
    }

    /// Runs to completion while copying its standard output line by line to ours, and returns
    /// the lines, so that a step can be both watched and summarised.
    pub fn run_tee(mut self) -> anyhow::Result<(bool, Vec<String>)> {
        use std::io::{BufRead, BufReader, Write};

        say(&format!("xtask: $ {}", self.shown));
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{}`", self.shown))?;
        let mut lines = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let mut ours = std::io::stdout().lock();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(ours, "{line}");
                lines.push(line);
            }
        }
        let status = child
            .wait()
            .with_context(|| format!("`{}` was lost", self.shown))?;
        Ok((status.success(), lines))
    }
}

/// A cargo command using the same cargo that runs xtask.
pub fn cargo(args: &[&str]) -> Step {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Step::new(&cargo, args)
}

/// Asks a background process to stop (SIGTERM) and waits for it.
pub fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let pid = child.id().to_string();
    let asked = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .is_ok_and(|s| s.success());
    if !asked {
        let _ = child.kill();
    }
    let _ = child.wait();
}
