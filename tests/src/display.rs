//! A private X display (Xvfb) for tests that open windows, so they run on headless machines
//! and never draw on a developer's screen.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::wait;

/// A running Xvfb; dropping it stops the server.
#[derive(Debug)]
pub struct VirtualDisplay {
    child: Child,
    number: u32,
}

impl VirtualDisplay {
    /// Starts Xvfb on the first free display number from 90 up, and returns once its socket
    /// exists.
    pub fn start() -> anyhow::Result<VirtualDisplay> {
        let number = (90..400)
            .find(|n| {
                !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                    && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            })
            .context("no free X display number between 90 and 400")?;

        let child = Command::new("Xvfb")
            .arg(format!(":{number}"))
            .args([
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start Xvfb; install the xvfb package (cargo xtask setup)")?;
        let mut display = VirtualDisplay { child, number };

        let socket = format!("/tmp/.X11-unix/X{number}");
        wait::until("the Xvfb socket", Duration::from_secs(20), || {
            if let Ok(Some(status)) = display.child.try_wait() {
                return Some(Err(anyhow::anyhow!("Xvfb exited at once: {status}")));
            }
            Path::new(&socket).exists().then_some(Ok(()))
        })??;
        Ok(display)
    }

    /// The value of DISPLAY for programs that should draw here.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
