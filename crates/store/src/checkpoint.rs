//! Moving the write-ahead log into the database file on a thread of its own, so that neither a
//! page of the feed nor an agent's write waits for the disk to flush.
//!
//! SQLite checkpoints inside whichever commit pushes the log past its limit, and a checkpoint
//! flushes the log and the file to disk: during an initial sync that stalled the feed for a
//! flush every few pages, and it could land on an agent's write. Here every connection that
//! writes only counts the log's frames after each commit; a thread with its own connection
//! copies them into the file meanwhile, without blocking anyone (`PASSIVE`).
//!
//! The log can only start again from its beginning once everything in it has been copied and
//! a writer begins with nothing new in between. A feed that writes page after page may never
//! leave such a gap, so past [`Limits::restart`] the feed waits for one full checkpoint before
//! its next page: the log stays bounded, and most of its copying was done in the background.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;

/// When the log is copied and when the feed waits for it, in frames (pages of 4 KiB).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Frames that make the background thread copy them.
    pub copy: i64,
    /// Frames past which the feed waits for the log to start again.
    pub restart: i64,
}

impl Default for Limits {
    fn default() -> Self {
        // About 4 MB and 256 MB.
        Limits {
            copy: 1_000,
            restart: 65_536,
        }
    }
}

/// How long the background thread sleeps when nothing wakes it; it then copies whatever is in
/// the log, so that a quiet desk leaves a short one.
const IDLE: Duration = Duration::from_secs(5);

/// What the writing connections tell the background thread.
#[derive(Debug, Default)]
struct Shared {
    /// Frames in the log after the latest commit of any connection.
    frames: AtomicI64,
    /// Whether the thread should copy now.
    wanted: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
    /// Held while a checkpoint runs: SQLite refuses a second one at once rather than wait, so
    /// the feed's restart queues here behind the background copy.
    running: Mutex<()>,
    /// Background copies finished, announced on `copied`, for whoever waits on one.
    copies: Mutex<u64>,
    copied: Condvar,
}

/// The background checkpointer of one cache file; stops and joins its thread when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    limits: Limits,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, on its own connection to the file at `path`.
    pub(crate) fn start(path: &Path, limits: Limits) -> Result<Checkpointer, StoreError> {
        let connection = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        // NORMAL makes each checkpoint flush the log before copying and the file after, which
        // is what lets the log be reused safely.
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(Duration::from_secs(1))?;

        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("cache-checkpoint".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || copy_until_stopped(&connection, &shared)
            })
            .map_err(|error| StoreError::Thread(error.to_string()))?;
        Ok(Checkpointer {
            limits,
            shared,
            thread: Some(thread),
        })
    }

    /// Makes `connection` count its commits here instead of checkpointing inside them.
    pub(crate) fn watch(&self, connection: &mut Connection) -> Result<(), StoreError> {
        let shared = Arc::clone(&self.shared);
        let copy = self.limits.copy;
        connection.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames| {
            shared.frames.store(i64::from(frames), Ordering::Release);
            if i64::from(frames) >= copy {
                shared.request();
            }
            Ok(())
        }))?;
        Ok(())
    }

    /// Whether the log has grown so long that the next feed page should wait for it to start
    /// again.
    pub(crate) fn too_long(&self) -> bool {
        self.shared.frames.load(Ordering::Acquire) >= self.limits.restart
    }

    /// Copies the rest of the log into the file on `connection`, so that the next commit
    /// starts it again from its beginning, if it has grown too long. Returns whether it did.
    pub(crate) fn restart_if_too_long(&self, connection: &Connection) -> Result<bool, StoreError> {
        if !self.too_long() {
            return Ok(false);
        }
        let _running = self
            .shared
            .running
            .lock()
            .map_err(|_| StoreError::Poisoned)?;
        let started = std::time::Instant::now();
        // Busy means a reader held on past the busy timeout; the log stays long for now and
        // the next page tries again.
        let busy: i64 =
            connection.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| row.get(0))?;
        tracing::debug!(
            busy,
            seconds = started.elapsed().as_secs_f64(),
            "the cache's log copied to its end, to start again"
        );
        Ok(busy == 0)
    }
}

impl Shared {
    /// Waits, one finished copy at a time, until `done` holds or `limit` passes; returns
    /// whether it holds.
    #[cfg(test)]
    fn wait_for_copies_until(&self, limit: Duration, mut done: impl FnMut() -> bool) -> bool {
        let Ok(copies) = self.copies.lock() else {
            return false;
        };
        let _ = self.copied.wait_timeout_while(copies, limit, |_| !done());
        done()
    }

    fn request(&self) {
        if let Ok(mut wanted) = self.wanted.lock() {
            *wanted = true;
            self.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.request();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn copy_until_stopped(connection: &Connection, shared: &Shared) {
    loop {
        let Ok(wanted) = shared.wanted.lock() else {
            return;
        };
        let (mut wanted, _) = match shared
            .wake
            .wait_timeout_while(wanted, IDLE, |wanted| !*wanted)
        {
            Ok(waited) => waited,
            Err(_) => return,
        };
        *wanted = false;
        drop(wanted);
        if shared.stop.load(Ordering::Acquire) {
            return;
        }

        let Ok(running) = shared.running.lock() else {
            return;
        };
        let copied = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        drop(running);
        if let Ok(mut copies) = shared.copies.lock() {
            *copies += 1;
            shared.copied.notify_all();
        }
        match copied {
            Ok((frames, done)) => tracing::trace!(frames, done, "log copied into the cache file"),
            Err(error) => tracing::warn!(%error, "copying the cache's log failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_rows(connection: &Connection, transactions: usize) {
        for _ in 0..transactions {
            connection
                .execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
                     INSERT INTO filler (text) SELECT printf('%.4000c', 'x') FROM n",
                    [],
                )
                .expect("rows are written");
        }
    }

    fn file_size(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |metadata| metadata.len())
    }

    #[test]
    fn the_log_is_copied_in_the_background_and_bounded_by_a_restart() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("cache.db");
        let mut connection = Connection::open(&path).expect("the file opens");
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .expect("WAL mode is set");
        connection
            .execute_batch("CREATE TABLE filler (text TEXT)")
            .expect("the table is made");
        connection
            .busy_timeout(Duration::from_secs(10))
            .expect("a busy timeout is set");
        let checkpointer = Checkpointer::start(
            &path,
            Limits {
                copy: 50,
                restart: 400,
            },
        )
        .expect("the thread starts");
        checkpointer
            .watch(&mut connection)
            .expect("the hook is set");
        let empty = file_size(&path);

        write_rows(&connection, 10);
        // Each finished copy wakes this wait; the limit only guards against a hang.
        let grew = checkpointer
            .shared
            .wait_for_copies_until(Duration::from_secs(30), || file_size(&path) > empty);
        assert!(
            grew,
            "with automatic checkpoints off, only the background thread moves the log into \
             the file"
        );

        write_rows(&connection, 30);
        assert!(
            checkpointer.too_long(),
            "a log past the restart limit asks the feed to wait for it"
        );
        assert!(
            checkpointer
                .restart_if_too_long(&connection)
                .expect("the restart runs"),
            "a restart waits for the background copy rather than give up"
        );
        write_rows(&connection, 1);
        assert!(
            !checkpointer.too_long(),
            "after a restart the log counts from its beginning again"
        );
    }
}
