//! A throwaway PostgreSQL server for tests: a fresh cluster in a temporary folder, listening
//! only on 127.0.0.1 on a free port, with trust authentication, stopped and deleted when the
//! test ends. It never touches a system cluster.
//!
//! PostgreSQL refuses to run as root, so under root (CI) the server runs as the `postgres`
//! user that Debian's package creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail};

use crate::free_port;

/// The database role the tests connect as.
pub const ROLE: &str = "switchboard";

/// A running PostgreSQL cluster; dropping it stops the server and removes its files.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    as_postgres_user: bool,
    /// A connection URL for the `postgres` database as [`ROLE`].
    pub url: String,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Creates and starts a cluster; returns once the server accepts connections (pg_ctl's
    /// `-w` waits for that itself).
    pub fn start() -> anyhow::Result<Postgres> {
        let bin = server_bin_dir()?;
        let dir = tempfile::tempdir().context("a temporary folder for the cluster")?;
        let data = dir.path().join("data");
        let as_postgres_user = is_root();
        if as_postgres_user {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()))?;
        }

        let port = free_port();
        let server = Postgres {
            bin,
            data,
            as_postgres_user,
            url: format!("postgres://{ROLE}@127.0.0.1:{port}/postgres"),
            port,
            _dir: dir,
        };

        // No fsync and no sync at init: a test cluster trades durability for speed, and is
        // deleted afterwards anyway.
        server.pg(&server.bin.join("initdb"), |command| {
            command.arg("-D").arg(&server.data).args([
                "-U",
                ROLE,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]);
        })?;
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200 -k {}",
            server.socket_dir().display()
        );
        server.pg(&server.bin.join("pg_ctl"), |command| {
            command
                .arg("-D")
                .arg(&server.data)
                .args(["-o", &options, "-w", "-t", "60", "-l"])
                .arg(server.socket_dir().join("server.log"))
                .arg("start");
        })?;
        Ok(server)
    }

    /// Creates an empty database `name` and returns its URL, so that tests sharing one server
    /// each start from nothing.
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        anyhow::ensure!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "database names here are plain identifiers, got {name:?}"
        );
        self.psql(&format!("CREATE DATABASE {name}"))?;
        Ok(format!("postgres://{ROLE}@127.0.0.1:{}/{name}", self.port))
    }

    /// Runs SQL with psql and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        let output = run(Command::new("psql").args([&self.url, "-X", "-A", "-t", "-c", sql]))?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    fn socket_dir(&self) -> &Path {
        self.data.parent().unwrap_or(&self.data)
    }

    /// Runs a PostgreSQL program, as the `postgres` user when we are root.
    fn pg(&self, program: &Path, configure: impl FnOnce(&mut Command)) -> anyhow::Result<Output> {
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        configure(&mut command);
        run(&mut command)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let stop = self.pg(&self.bin.join("pg_ctl"), |command| {
            command
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"]);
        });
        if let Err(error) = stop {
            // Nothing can be returned from a drop; the test's own assertions already ran.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("could not stop the test PostgreSQL: {error:#}");
            }
        }
    }
}

/// The newest installed server's bin folder, such as /usr/lib/postgresql/15/bin.
fn server_bin_dir() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed; run `cargo xtask setup`")?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("no PostgreSQL server under /usr/lib/postgresql; run `cargo xtask setup`"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn run(command: &mut Command) -> anyhow::Result<Output> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !output.status.success() {
        bail!(
            "{shown} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}
