//! The first fill of an empty cache: the indexes that only the customer pane needs are dropped
//! while it runs and built once at its end.
//!
//! Record ids, and so the customers records point at, are random, so keeping an index up to
//! date row by row writes a random page of it per record, and at a million customers that is
//! most of an initial sync's time. Built from the full table, the same index costs one sort.
//! While the fill runs, screen pops and search work (they need only the identity and search
//! indexes, which stay); the customer pane answers [`StoreError::Filling`] instead of scanning
//! millions of rows, and the window asks the hub meanwhile.
//!
//! The state is kept in `meta` (`filling`), so a desk that stops half-way goes on filling where
//! it stopped and still builds the indexes at the end.

use std::sync::atomic::Ordering;

use rusqlite::TransactionBehavior;

use crate::feed::{meta, set_meta};
use crate::schema::DEFERRED_INDEXES;
use crate::{Store, StoreError};

/// The `meta` key present while an initial fill runs.
const FILLING: &str = "filling";

impl Store {
    /// Starts an initial fill if the cache holds nothing from the hub yet (no cursor), and
    /// says whether one runs now, new or resumed.
    pub fn begin_fill(&self) -> Result<bool, StoreError> {
        let mut feed = self.feed()?;
        let transaction = feed.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if meta(&transaction, FILLING)?.is_some() {
            return Ok(true);
        }
        if meta(&transaction, "cursor")?.is_some() {
            return Ok(false);
        }

        for (name, _) in DEFERRED_INDEXES {
            transaction.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
        }
        set_meta(&transaction, FILLING, "1")?;
        transaction.commit()?;
        self.filling.store(true, Ordering::Release);
        tracing::info!("initial fill started; the customer pane's indexes are built at its end");
        Ok(true)
    }

    /// Ends an initial fill: builds the indexes it left out and merges the search index into
    /// one segment. Does nothing when no fill runs.
    pub fn finish_fill(&self) -> Result<(), StoreError> {
        let mut feed = self.feed()?;
        let transaction = feed.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if meta(&transaction, FILLING)?.is_none() {
            return Ok(());
        }

        let started = std::time::Instant::now();
        for (_, definition) in DEFERRED_INDEXES {
            transaction.execute_batch(definition)?;
        }
        // Page by page, the search index grew hundreds of small segments; type-ahead reads
        // one instead once they are merged.
        transaction.execute("INSERT INTO search (search) VALUES ('optimize')", [])?;
        transaction.execute("DELETE FROM meta WHERE key = ?1", [FILLING])?;
        transaction.commit()?;
        self.filling.store(false, Ordering::Release);
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "initial fill finished: indexes built"
        );
        Ok(())
    }

    /// Whether an initial fill runs, so that the customer pane is not yet served.
    pub fn is_filling(&self) -> bool {
        self.filling.load(Ordering::Acquire)
    }

    /// Refuses what needs the indexes an initial fill leaves out.
    pub(crate) fn refuse_while_filling(&self) -> Result<(), StoreError> {
        if self.is_filling() {
            return Err(StoreError::Filling);
        }
        Ok(())
    }
}

/// Whether the cache at `connection` is in an initial fill, read when the cache opens.
pub(crate) fn filling(connection: &rusqlite::Connection) -> Result<bool, StoreError> {
    Ok(meta(connection, FILLING)?.is_some())
}

/// Puts back every index an interrupted fill left out, for a cache emptied to start over.
pub(crate) fn restore_indexes(connection: &rusqlite::Connection) -> Result<(), StoreError> {
    for (_, definition) in DEFERRED_INDEXES {
        connection.execute_batch(definition)?;
    }
    Ok(())
}
