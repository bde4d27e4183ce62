//! `switchboard-store`: the desk's local cache of the hub's records, and the outbox of the
//! agent's writes waiting for the hub.
//!
//! The cache is one SQLite file in WAL mode. Three connections share it, each for one job:
//! the feed connection applies pages from the hub (`synchronous=NORMAL`: a page lost to a
//! power cut is pulled again, because its cursor was lost with it); the outbox connection
//! records the agent's writes and their outcomes (`synchronous=FULL`: an acknowledged write
//! must survive anything); the read connection serves the window (screen pops, search, the
//! customer pane) and never waits for the other two.
//!
//! Layout: [`schema`] holds the migrations; [`identity`] normalises phone numbers and e-mail
//! addresses; [`action`] is what an agent can write and its local effect; [`feed`] applies the
//! hub's change feed; [`outbox`] queues writes and records what the hub made of them; [`read`]
//! answers the window's questions; [`records`] keeps the indexes in step with the records;
//! [`initial`] leaves the customer pane's indexes out of a first fill and builds them at its end.

pub mod action;
mod checkpoint;
mod error;
pub mod feed;
pub mod identity;
mod initial;
pub mod outbox;
pub mod read;
mod records;
mod schema;
pub mod search;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::checkpoint::Checkpointer;

pub use action::{Action, ActionError, Actor};
pub use error::StoreError;
pub use feed::Applied;
pub use identity::Region;
pub use outbox::{Acted, OpState, Operation, Outbox, OutboxEntry, Outcome};
pub use read::{AgentDay, CustomerFile, Lookup, OpenWork, OrderFile};
pub use search::SearchHit;

/// How long a connection waits for another one's write to finish before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The desk's cache. Cheap to share behind an `Arc`; every method is synchronous and short, so
/// async callers run them on a blocking thread.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    feed: Mutex<Connection>,
    outbox: Mutex<Connection>,
    reads: Mutex<Connection>,
    region: Option<Region>,
    /// Whether an initial fill runs ([`initial`]); mirrors `meta` so reads need not ask it.
    filling: AtomicBool,
    checkpointer: Checkpointer,
}

impl Store {
    /// Opens (creating if needed) the cache at `path` and brings its schema up to date.
    /// `region` is where the desk dials from: it decides what a phone number without a
    /// country code means.
    pub fn open(path: &Path, region: Option<Region>) -> Result<Store, StoreError> {
        if let Some(folder) = path.parent() {
            // A missing folder would make SQLite's own error say only "unable to open".
            let _ = std::fs::create_dir_all(folder);
        }
        let open = |synchronous: &str| -> Result<Connection, StoreError> {
            let connection = Connection::open(path).map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
            connection.busy_timeout(BUSY_TIMEOUT)?;
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", synchronous)?;
            connection.pragma_update(None, "foreign_keys", true)?;
            // After a long initial sync the log would otherwise keep its largest size on disk.
            connection.pragma_update(None, "journal_size_limit", 64 * 1_048_576)?;
            Ok(connection)
        };

        let mut outbox = open("FULL")?;
        schema::migrate(&mut outbox)?;
        let mut feed = open("NORMAL")?;
        // Pages are large; a bigger page cache keeps the indexes they touch in memory.
        feed.pragma_update(None, "cache_size", -32_000)?;
        let checkpointer = Checkpointer::start(path, checkpoint::Limits::default())?;
        checkpointer.watch(&mut outbox)?;
        checkpointer.watch(&mut feed)?;
        let reads = open("NORMAL")?;
        reads.pragma_update(None, "query_only", true)?;
        // Screen pops and type-ahead read all over a large file; a memory map spares a
        // system call per page.
        reads.pragma_update(None, "mmap_size", 4_294_967_296_i64)?;

        let filling = initial::filling(&outbox)?;
        tracing::debug!(path = %path.display(), filling, "cache open");
        Ok(Store {
            path: path.to_owned(),
            feed: Mutex::new(feed),
            outbox: Mutex::new(outbox),
            reads: Mutex::new(reads),
            region,
            filling: AtomicBool::new(filling),
            checkpointer,
        })
    }

    /// Where the cache lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The region phone numbers are read in.
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// Runs SQLite's own consistency check; `Ok(true)` when the file is sound.
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let reads = self.reads()?;
        let verdict: String = reads.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        Ok(verdict == "ok")
    }

    fn feed(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.feed.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The feed connection, after the write-ahead log started again if it grew too long
    /// (see [`checkpoint`]).
    fn feed_bounded(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let feed = self.feed()?;
        self.checkpointer.restart_if_too_long(&feed)?;
        Ok(feed)
    }

    fn outbox_connection(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.outbox.lock().map_err(|_| StoreError::Poisoned)
    }

    fn reads(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.reads.lock().map_err(|_| StoreError::Poisoned)
    }
}

/// Where a desk keeps its cache: the user's local (not roaming) data folder, since the cache
/// is this machine's copy and can always be pulled again: `~/.local/share/switchboard` on
/// Linux, `%LOCALAPPDATA%\switchboard` on Windows, `~/Library/Application Support/switchboard`
/// on macOS. `None` on a system without one; the desk's settings can name a path instead.
pub fn default_path() -> Option<PathBuf> {
    dirs::data_local_dir().map(|folder| folder.join("switchboard").join("cache.db"))
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
