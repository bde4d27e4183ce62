//! `cargo xtask run`: the demo hub plus the desktop window pointed at it, stopped together.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::sync::mpsc;

use anyhow::{Context, bail};

use crate::process::{Step, cargo, stop};
use crate::{install, say, target_dir};

/// Why `run` is finishing.
#[derive(Debug)]
enum Ending {
    Interrupted,
    WindowClosed,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut listen = "127.0.0.1:7300".to_owned();
    let mut customers = "3000".to_owned();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().context("--listen needs ADDR:PORT")?.clone(),
            "--customers" => customers = args.next().context("--customers needs N")?.clone(),
            other => bail!("unknown option {other:?} for run"),
        }
    }

    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!(
            "no display: run this from a desktop session, or under `xvfb-run -a cargo xtask run` \
             on a headless machine"
        );
    }

    install::build_packages()?;
    install::ui_packages()?;
    install::build_ui()?;
    cargo(&[
        "build",
        "-p",
        "switchboard-hub",
        "-p",
        "switchboard-desktop",
    ])
    .run()?;

    let bin = target_dir().join("debug");
    let data = target_dir().join("demo-hub");
    let mut hub = Step::new(&bin.join("switchboard-hub").to_string_lossy(), &[])
        .arg("--listen")
        .arg(&listen)
        .arg("--data")
        .arg(&data)
        .arg("--demo")
        .arg("--customers")
        .arg(&customers)
        .spawn_piped()?;

    // The hub prints its address once it accepts connections; wait for exactly that.
    let mut line = String::new();
    if let Some(stdout) = hub.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the hub's address")?;
    }
    let Some(url) = line
        .trim()
        .strip_prefix("switchboard-hub serving on ")
        .map(str::to_owned)
    else {
        stop(&mut hub);
        bail!("the hub did not start (is {listen} taken? try --listen 127.0.0.1:7301)");
    };
    say(&format!(
        "xtask: demo hub at {url}, data in {}",
        data.display()
    ));

    // Ctrl-C reaches every process in the terminal's group; catching it here lets xtask stop
    // the hub after the window, instead of dying first and leaving the hub behind. Both the
    // window closing and Ctrl-C arrive on one channel, so nothing polls.
    let (events, event) = mpsc::channel::<Ending>();
    let on_interrupt = events.clone();
    ctrlc::set_handler(move || {
        let _ = on_interrupt.send(Ending::Interrupted);
    })
    .context("cannot watch for Ctrl-C")?;

    let mut desktop =
        match Step::new(&bin.join("switchboard").to_string_lossy(), &["--hub", &url]).spawn() {
            Ok(desktop) => desktop,
            Err(error) => {
                stop(&mut hub);
                return Err(error);
            }
        };
    let desktop_pid = desktop.id();
    let waiter = std::thread::spawn(move || {
        let _ = desktop.wait();
        let _ = events.send(Ending::WindowClosed);
    });

    if let Ok(Ending::Interrupted) = event.recv() {
        let _ = Command::new("kill")
            .args(["-TERM", &desktop_pid.to_string()])
            .status();
        let _ = waiter.join();
    }

    stop(&mut hub);
    say("xtask: desktop and hub stopped");
    Ok(())
}
