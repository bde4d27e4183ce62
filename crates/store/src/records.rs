//! Writing the shown state of one record, with the identity index and the search index kept in
//! step with it, inside whatever transaction the caller holds.

use rusqlite::{Connection, OptionalExtension, params};
use switchboard_model::{Record, RecordKind};

use crate::StoreError;
use crate::identity::national_digits;

/// A record as the cache holds it: the shown state and the hub's version underneath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub record: Record,
    pub version: u64,
}

/// The shown state of record `id`, if the cache has it.
pub fn load(connection: &Connection, id: &str) -> Result<Option<Cached>, StoreError> {
    let row: Option<(String, i64)> = connection
        .prepare_cached("SELECT body, version FROM records WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(body, version)| {
        Ok(Cached {
            record: serde_json::from_str(&body)?,
            version: version.unsigned_abs(),
        })
    })
    .transpose()
}

/// The hub's version of record `id` as shown, if the cache has it.
pub fn version(connection: &Connection, id: &str) -> Result<Option<u64>, StoreError> {
    let version: Option<i64> = connection
        .prepare_cached("SELECT version FROM records WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(version.map(i64::unsigned_abs))
}

/// Search index entries to write at the end of a transaction.
///
/// FTS5 keeps new entries in memory and writes them out whenever another statement of the
/// transaction opens a savepoint, which every upsert does; interleaving search inserts with
/// record writes therefore made one tiny index segment per record (and endless merging). A page
/// of changes gathers its entries here and writes them together after its records.
#[derive(Debug, Default)]
pub struct SearchBatch {
    removed: Vec<i64>,
    added: Vec<(i64, String)>,
}

impl SearchBatch {
    /// Writes the gathered entries: removals first, so that a record's new text replaces its
    /// old one.
    pub fn write(self, connection: &Connection) -> Result<(), StoreError> {
        if !self.removed.is_empty() {
            let mut delete = connection.prepare_cached("DELETE FROM search WHERE rowid = ?1")?;
            for rowid in self.removed {
                delete.execute([rowid])?;
            }
        }
        if !self.added.is_empty() {
            let mut insert =
                connection.prepare_cached("INSERT INTO search (rowid, text) VALUES (?1, ?2)")?;
            for (rowid, text) in self.added {
                insert.execute(params![rowid, text])?;
            }
        }
        Ok(())
    }
}

/// A record made ready to store: its body encoded and its index entries worked out, so that
/// the thread holding the write lock does nothing but write (an initial sync prepares pages on
/// another core while the previous one is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub(crate) id: String,
    pub(crate) kind: &'static str,
    customer_id: Option<String>,
    parent_id: Option<String>,
    pub(crate) body: String,
    search: Option<String>,
    /// For a customer: their identities as (kind, normalised value).
    identities: Vec<(&'static str, String)>,
    /// For a customer: what a screen pop shows of them, as JSON.
    summary: Option<String>,
    /// For an offer or an interaction: the agent whose open work it is now, if anyone's.
    open_for: Option<String>,
    /// For a wrap-up: whose day it counts in, which day (UTC), and its handle time.
    handled: Option<(String, String, i64)>,
}

impl Prepared {
    /// Prepares `record`; pure, and the costly part of storing one (encoding, phone numbers'
    /// national forms for search).
    pub fn new(record: &Record) -> Result<Prepared, StoreError> {
        let (identities, summary) = match record {
            Record::Customer(customer) => (
                customer
                    .identities
                    .iter()
                    .map(|identity| (identity.kind.as_str(), identity.value.clone()))
                    .collect(),
                Some(serde_json::to_string(&customer.summary())?),
            ),
            _ => (Vec::new(), None),
        };
        Ok(Prepared {
            id: record.id().to_owned(),
            kind: record.kind().as_str(),
            customer_id: record.customer_id().map(|id| id.as_str().to_owned()),
            parent_id: parent_of(record).map(str::to_owned),
            body: serde_json::to_string(record)?,
            search: search_text(record),
            identities,
            summary,
            open_for: open_for(record).map(str::to_owned),
            handled: match record {
                Record::WrapUp(wrap_up) => Some((
                    wrap_up.agent_id.as_str().to_owned(),
                    wrap_up.created_at.chars().take(10).collect(),
                    i64::from(wrap_up.handle_seconds),
                )),
                _ => None,
            },
        })
    }

    /// The record again, for the rare paths that need it whole (a change laid under unsent
    /// edits).
    pub(crate) fn record(&self) -> Result<Record, StoreError> {
        Ok(serde_json::from_str(&self.body)?)
    }
}

/// Stores `record` as shown, over the hub's `version`. `existed` says whether the cache held
/// the record before, which spares a new record the index clean-up.
pub fn put(
    connection: &Connection,
    record: &Record,
    version: u64,
    existed: bool,
) -> Result<(), StoreError> {
    let mut search = SearchBatch::default();
    put_gathering(
        connection,
        Prepared::new(record)?,
        version,
        existed,
        &mut search,
    )?;
    search.write(connection)
}

/// [`put`] of a prepared record, with its search entry gathered into `search` for the caller
/// to write.
pub fn put_gathering(
    connection: &Connection,
    record: Prepared,
    version: u64,
    existed: bool,
    search: &mut SearchBatch,
) -> Result<(), StoreError> {
    // A record new to the cache takes the plain insert; an upsert costs a statement journal
    // per row.
    let statement = if existed {
        "INSERT INTO records (id, kind, customer_id, parent_id, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,
            customer_id = excluded.customer_id, parent_id = excluded.parent_id,
            version = excluded.version, body = excluded.body
         RETURNING rowid"
    } else {
        "INSERT INTO records (id, kind, customer_id, parent_id, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         RETURNING rowid"
    };
    let rowid = insert_row(connection, statement, &record, version)?
        .expect("an insert without a conflict clause or with DO UPDATE returns its row");
    index_row(connection, rowid, record, existed, search)
}

/// Stores `record` if the cache does not hold it yet, and hands it back otherwise, for the
/// caller to compare versions. Most changes are new records (all of an initial sync but the
/// few that changed while it ran), and this finds out and stores them in one statement.
pub fn put_if_new(
    connection: &Connection,
    record: Prepared,
    version: u64,
    search: &mut SearchBatch,
) -> Result<Option<Prepared>, StoreError> {
    let statement = "INSERT INTO records (id, kind, customer_id, parent_id, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO NOTHING
         RETURNING rowid";
    match insert_row(connection, statement, &record, version)? {
        Some(rowid) => {
            index_row(connection, rowid, record, false, search)?;
            Ok(None)
        }
        None => Ok(Some(record)),
    }
}

/// Runs one of the record inserts above, and returns the row's rowid if it wrote one.
fn insert_row(
    connection: &Connection,
    statement: &str,
    record: &Prepared,
    version: u64,
) -> Result<Option<i64>, StoreError> {
    Ok(connection
        .prepare_cached(statement)?
        .query_row(
            params![
                record.id,
                record.kind,
                record.customer_id,
                record.parent_id,
                version as i64,
                record.body
            ],
            |row| row.get(0),
        )
        .optional()?)
}

/// Brings the identity index, and the search entries gathered in `search`, in step with the
/// record just written at `rowid`.
fn index_row(
    connection: &Connection,
    rowid: i64,
    record: Prepared,
    existed: bool,
    search: &mut SearchBatch,
) -> Result<(), StoreError> {
    if record.kind == RecordKind::Customer.as_str() {
        if existed {
            connection
                .prepare_cached("DELETE FROM identities WHERE customer_id = ?1")?
                .execute([&record.id])?;
        }
        let mut insert = connection.prepare_cached(
            "INSERT OR IGNORE INTO identities (kind, value, customer_id, record, summary)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (kind, value) in &record.identities {
            insert.execute(params![kind, value, record.id, rowid, record.summary])?;
        }
    }

    // A wrap-up counts once, when it first reaches the cache (the agent's own, or the hub's);
    // later versions of it do not count again. The hub never deletes wrap-ups.
    if let (Some((agent, day, seconds)), false) = (&record.handled, existed) {
        connection
            .prepare_cached(
                "INSERT INTO agent_days (agent_id, day, handled, handle_seconds)
                 VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (agent_id, day) DO UPDATE SET handled = handled + 1,
                    handle_seconds = handle_seconds + excluded.handle_seconds",
            )?
            .execute(params![agent, day, seconds])?;
    }

    if tracks_open_work(record.kind) {
        if existed {
            connection
                .prepare_cached("DELETE FROM open_work WHERE id = ?1")?
                .execute([&record.id])?;
        }
        if let Some(agent) = &record.open_for {
            connection
                .prepare_cached("INSERT INTO open_work (id, kind, agent_id) VALUES (?1, ?2, ?3)")?
                .execute(params![record.id, record.kind, agent])?;
        }
    }

    if let Some(text) = record.search {
        if existed {
            search.removed.push(rowid);
        }
        search.added.push((rowid, text));
    }
    Ok(())
}

/// Removes record `id` and everything that indexes it.
pub fn remove(connection: &Connection, id: &str) -> Result<(), StoreError> {
    let mut search = SearchBatch::default();
    remove_gathering(connection, id, &mut search)?;
    search.write(connection)
}

/// [`remove`], with the search entry's removal gathered into `search`.
pub fn remove_gathering(
    connection: &Connection,
    id: &str,
    search: &mut SearchBatch,
) -> Result<(), StoreError> {
    let found: Option<(i64, String)> = connection
        .prepare_cached("SELECT rowid, kind FROM records WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((rowid, kind)) = found else {
        return Ok(());
    };
    if kind == RecordKind::Customer.as_str() {
        connection
            .prepare_cached("DELETE FROM identities WHERE customer_id = ?1")?
            .execute([id])?;
    }
    if tracks_open_work(&kind) {
        connection
            .prepare_cached("DELETE FROM open_work WHERE id = ?1")?
            .execute([id])?;
    }
    // An entry gathered for this record earlier in the batch must not outlive it.
    search.added.retain(|(added, _)| *added != rowid);
    search.removed.push(rowid);
    connection
        .prepare_cached("DELETE FROM records WHERE rowid = ?1")?
        .execute([rowid])?;
    Ok(())
}

/// Whether records of `kind` can be someone's open work.
fn tracks_open_work(kind: &str) -> bool {
    kind == RecordKind::Offer.as_str() || kind == RecordKind::Interaction.as_str()
}

/// The agent whose open work `record` is: an offer waiting for their answer, or an interaction
/// they hold.
fn open_for(record: &Record) -> Option<&str> {
    match record {
        Record::Offer(offer) if offer.state == switchboard_model::OfferState::Pending => {
            Some(offer.agent_id.as_str())
        }
        Record::Interaction(interaction)
            if interaction.state == switchboard_model::InteractionState::Active =>
        {
            interaction.agent_id.as_ref().map(|agent| agent.as_str())
        }
        _ => None,
    }
}

/// The record another one hangs from, for the customer pane's joins.
fn parent_of(record: &Record) -> Option<&str> {
    match record {
        Record::Message(message) => Some(message.conversation_id.as_str()),
        Record::WrapUp(wrap_up) => Some(wrap_up.interaction_id.as_str()),
        Record::Delivery(delivery) => Some(delivery.order_id.as_str()),
        Record::Interaction(interaction) => Some(interaction.conversation_id.as_str()),
        Record::Transaction(transaction) => transaction.order_id.as_ref().map(|id| id.as_str()),
        Record::Offer(offer) => Some(offer.interaction_id.as_str()),
        _ => None,
    }
}

/// What search finds a record by: a customer's name, company, e-mail addresses and phone
/// numbers (international and national digits, so that either way of typing finds them); an
/// order's number; a ticket's subject; a delivery's tracking number. Other kinds are not
/// searched.
pub fn search_text(record: &Record) -> Option<String> {
    match record {
        Record::Customer(customer) => {
            let mut text = customer.display_name.clone();
            if let Some(company) = &customer.company {
                text.push(' ');
                text.push_str(company);
            }
            for identity in &customer.identities {
                text.push(' ');
                match identity.kind {
                    switchboard_model::IdentityKind::Phone => {
                        text.push_str(identity.value.trim_start_matches('+'));
                        if let Some(national) = national_digits(&identity.value) {
                            text.push(' ');
                            text.push_str(&national);
                        }
                    }
                    _ => text.push_str(&identity.value),
                }
            }
            Some(text)
        }
        Record::Order(order) => Some(order.number.clone()),
        Record::Ticket(ticket) => Some(ticket.subject.clone()),
        Record::Delivery(delivery) => Some(delivery.tracking_number.clone()),
        _ => None,
    }
}
