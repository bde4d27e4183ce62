//! Applying the hub's change feed: each page and the cursor it ends at commit together, so the
//! cache never holds a cursor past what it has, nor changes past its cursor without noticing.
//!
//! A change never overwrites what the agent has not sent yet: for a record with unfinished
//! outbox rows it becomes the new base, and the shown state is the agent's actions laid over
//! it again. Applying a page twice changes nothing, because a change older than what the cache
//! holds is skipped, and the cursor only moves forward.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use switchboard_model::{Change, Cursor};

use crate::records::{self, Cached, Prepared, SearchBatch};
use crate::{Store, StoreError, outbox};

/// What applying one page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Changes that altered what the window shows.
    pub applied: usize,
    /// Changes to records with unsent local changes, kept as their new base.
    pub rebased: usize,
    /// Changes the cache already had.
    pub skipped: usize,
    /// The cursor the cache now stands at.
    pub cursor: i64,
}

/// A page of the feed made ready to apply (see [`Prepared`]): the work that needs no lock is
/// done here, so that it can run on another thread while the previous page is written.
#[derive(Debug, Clone)]
pub struct PreparedPage {
    changes: Vec<PreparedChange>,
    cursor: Cursor,
}

// Nearly every change of a feed is an upsert, so boxing the large variant would cost an
// allocation per record to shrink the rare deletes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum PreparedChange {
    Upsert { version: u64, record: Prepared },
    Delete { id: String, kind: &'static str },
}

impl PreparedPage {
    /// Prepares `changes`, which end at `cursor`.
    pub fn new(changes: &[Change], cursor: Cursor) -> Result<PreparedPage, StoreError> {
        let changes = changes
            .iter()
            .map(|change| match change {
                Change::Upsert {
                    version, record, ..
                } => Ok(PreparedChange::Upsert {
                    version: *version,
                    record: Prepared::new(record)?,
                }),
                Change::Delete { id, kind, .. } => Ok(PreparedChange::Delete {
                    id: id.clone(),
                    kind: kind.as_str(),
                }),
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(PreparedPage { changes, cursor })
    }

    /// How many changes the page holds.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Which hub and tenant a cache holds; a desk that moves to another starts from empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub hub: String,
    pub tenant: String,
}

impl Store {
    /// The cursor to continue the feed from; `None` before the first page.
    pub fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        let feed = self.feed()?;
        Ok(read_cursor(&feed)?.map(|seq| Cursor(seq.to_string())))
    }

    /// Ties the cache to `origin`. A cache that held another hub's or tenant's records is
    /// emptied first, unless it still holds writes for them that the hub has not accepted:
    /// those are never dropped silently.
    pub fn bind(&self, origin: &Origin) -> Result<bool, StoreError> {
        let mut connection = self.outbox_connection()?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = (meta(&transaction, "hub")?, meta(&transaction, "tenant")?);
        if current.0.as_deref() == Some(origin.hub.as_str())
            && current.1.as_deref() == Some(origin.tenant.as_str())
        {
            return Ok(false);
        }

        let emptied = current.0.is_some();
        if emptied {
            let unsent = outbox::unfinished_count(&transaction)?;
            if unsent > 0 {
                return Err(StoreError::OtherOrigin {
                    hub: current.0.unwrap_or_default(),
                    unsent,
                });
            }
            transaction.execute_batch(
                "DELETE FROM records; DELETE FROM identities; DELETE FROM search;
                 DELETE FROM bases; DELETE FROM outbox; DELETE FROM meta;",
            )?;
            crate::initial::restore_indexes(&transaction)?;
            tracing::info!(hub = %origin.hub, "cache emptied for another hub or tenant");
        }
        set_meta(&transaction, "hub", &origin.hub)?;
        set_meta(&transaction, "tenant", &origin.tenant)?;
        transaction.commit()?;
        if emptied {
            self.filling
                .store(false, std::sync::atomic::Ordering::Release);
        }
        Ok(emptied)
    }

    /// Applies one page of the feed and moves the cursor to `cursor`, in one transaction.
    pub fn apply_page(&self, changes: &[Change], cursor: &Cursor) -> Result<Applied, StoreError> {
        self.apply_prepared(PreparedPage::new(changes, cursor.clone())?)
    }

    /// [`Store::apply_page`] of a page prepared beforehand.
    pub fn apply_prepared(&self, page: PreparedPage) -> Result<Applied, StoreError> {
        let page_cursor = parse_cursor(&page.cursor)?;
        let mut feed = self.feed_bounded()?;
        let transaction = feed.transaction_with_behavior(TransactionBehavior::Immediate)?;

        let mut applied = Applied::default();
        let mut search = SearchBatch::default();
        // Without unsent writes (the whole of an initial sync, most of the time after) no
        // change needs the look for a base.
        let unsent = outbox::has_bases(&transaction)?;
        for change in page.changes {
            match apply_change(&transaction, change, unsent, &mut search)? {
                Effect::Applied => applied.applied += 1,
                Effect::Rebased => applied.rebased += 1,
                Effect::Skipped => applied.skipped += 1,
            }
        }
        search.write(&transaction)?;

        // Cursors only move forward: a page that arrives late (a retry that crossed a newer
        // one) cannot take the cache back.
        let stored = read_cursor(&transaction)?;
        applied.cursor = stored.unwrap_or(0).max(page_cursor);
        if stored != Some(applied.cursor) {
            set_meta(&transaction, "cursor", &applied.cursor.to_string())?;
        }
        transaction.commit()?;
        Ok(applied)
    }
}

enum Effect {
    Applied,
    Rebased,
    Skipped,
}

fn apply_change(
    transaction: &Transaction<'_>,
    change: PreparedChange,
    unsent: bool,
    search: &mut SearchBatch,
) -> Result<Effect, StoreError> {
    let (id, kind) = match &change {
        PreparedChange::Upsert { record, .. } => (record.id.as_str(), record.kind),
        PreparedChange::Delete { id, kind } => (id.as_str(), *kind),
    };

    // The agent has unsent changes to this record: the change becomes their new base.
    if let Some(base) = unsent
        .then(|| outbox::base(transaction, id))
        .transpose()?
        .flatten()
    {
        let incoming = match &change {
            PreparedChange::Upsert { version, record } => Some(Cached {
                record: record.record()?,
                version: *version,
            }),
            PreparedChange::Delete { .. } => None,
        };
        let newer = match &incoming {
            Some(cached) => cached.version > base.version,
            None => base.record.is_some(),
        };
        if !newer {
            return Ok(Effect::Skipped);
        }
        let version = incoming
            .as_ref()
            .map_or(base.version, |cached| cached.version);
        outbox::set_base(transaction, id, kind, version, incoming.as_ref())?;
        outbox::rebase(transaction, id)?;
        return Ok(Effect::Rebased);
    }

    match change {
        PreparedChange::Upsert { version, record } => {
            let Some(record) = records::put_if_new(transaction, record, version, search)? else {
                return Ok(Effect::Applied);
            };
            let held = records::version(transaction, &record.id)?;
            if held.is_some_and(|held| held >= version) {
                return Ok(Effect::Skipped);
            }
            records::put_gathering(transaction, record, version, true, search)?;
        }
        PreparedChange::Delete { id, .. } => {
            if records::version(transaction, &id)?.is_none() {
                return Ok(Effect::Skipped);
            }
            records::remove_gathering(transaction, &id, search)?;
        }
    }
    Ok(Effect::Applied)
}

fn parse_cursor(cursor: &Cursor) -> Result<i64, StoreError> {
    cursor
        .0
        .parse()
        .map_err(|_| StoreError::BadCursor(cursor.0.clone()))
}

fn read_cursor(connection: &rusqlite::Connection) -> Result<Option<i64>, StoreError> {
    meta(connection, "cursor")?
        .map(|text| text.parse().map_err(|_| StoreError::BadCursor(text)))
        .transpose()
}

pub(crate) fn meta(
    connection: &rusqlite::Connection,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?)
}

pub(crate) fn set_meta(
    connection: &rusqlite::Connection,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value])?;
    Ok(())
}
