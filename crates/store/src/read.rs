//! What the window asks of the cache: who is calling (a screen pop), one record, and a
//! customer's whole file for the customer pane. All reads use their own connection, so they
//! never wait for a page being applied or a write being made.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use switchboard_model::{
    Cart, Conversation, Customer, CustomerId, CustomerSummary, Delivery, IdentityKind, Interaction,
    Message, Note, Offer, Order, Record, Ticket, Transaction, WrapUp,
};

use crate::identity::normalise;
use crate::records::{self, Cached};
use crate::{Store, StoreError};

/// Who an identity points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Lookup {
    pub kind: IdentityKind,
    /// The identity as the cache keeps it (E.164 for a phone number).
    pub value: String,
    /// Every customer with this identity, in name order: none, one, or several when people
    /// share it. Several are for the agent to choose from; the cache never picks one.
    pub candidates: Vec<CustomerSummary>,
}

/// An order with its deliveries and payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrderFile {
    pub order: Order,
    pub deliveries: Vec<Delivery>,
    pub transactions: Vec<Transaction>,
}

/// One agent's open work as the cache holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OpenWork {
    /// Offers waiting for the agent's answer, oldest first.
    pub offers: Vec<Offer>,
    /// Interactions the agent holds, oldest first.
    pub interactions: Vec<Interaction>,
}

/// What one agent handled on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentDay {
    /// Interactions wrapped up.
    pub handled: u32,
    /// Their handle time, added up, in seconds.
    pub handle_seconds: u32,
}

/// Everything the cache holds about one customer, as the customer pane shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerFile {
    pub customer: Customer,
    /// Open tickets first, then the rest; most recently changed first within each.
    pub tickets: Vec<Ticket>,
    /// Newest first.
    pub orders: Vec<OrderFile>,
    pub carts: Vec<Cart>,
    /// Payments and refunds not tied to an order.
    pub transactions: Vec<Transaction>,
    pub conversations: Vec<Conversation>,
    /// Newest first, on every channel.
    pub interactions: Vec<Interaction>,
    /// Oldest first, as a thread reads.
    pub messages: Vec<Message>,
    /// Newest first.
    pub notes: Vec<Note>,
    pub wrap_ups: Vec<WrapUp>,
    /// Ids of the records in this file with changes the hub has not accepted yet.
    pub unsent: Vec<String>,
}

impl Store {
    /// The customers an identity points at. `raw` is read as `kind` (a phone number in any
    /// form, in the desk's region when it has no country code).
    pub fn lookup(&self, kind: IdentityKind, raw: &str) -> Result<Lookup, StoreError> {
        let value = normalise(kind, raw, self.region())?;
        Ok(Lookup {
            kind,
            candidates: self.candidates(kind, &value)?,
            value,
        })
    }

    /// The customers whose identity of `kind` is exactly `value` (already normalised).
    pub fn candidates(
        &self,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Vec<CustomerSummary>, StoreError> {
        let reads = self.reads()?;
        let mut statement = reads.prepare_cached(
            "SELECT summary, record FROM identities WHERE kind = ?1 AND value = ?2",
        )?;
        let rows = statement.query_map(params![kind.as_str(), value], |row| {
            Ok((
                row.get::<_, Option<String>>(0)?,
                row.get::<_, Option<i64>>(1)?,
            ))
        })?;
        let mut found = Vec::new();
        for row in rows {
            match row? {
                (Some(summary), _) => found.push(serde_json::from_str(&summary)?),
                // Written before identities carried summaries (schema 4).
                (None, Some(rowid)) => {
                    let body: String = reads
                        .prepare_cached("SELECT body FROM records WHERE rowid = ?1")?
                        .query_row([rowid], |row| row.get(0))?;
                    if let Record::Customer(customer) = serde_json::from_str(&body)? {
                        found.push(customer.summary());
                    }
                }
                (None, None) => {}
            }
        }
        found.sort_by(|a, b| {
            a.display_name
                .to_lowercase()
                .cmp(&b.display_name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(found)
    }

    /// Reads the whole identity index once, so that the system keeps it in memory and the
    /// first screen pops after a start do not wait for the disk. Runs on a connection of its
    /// own, so that the window's reads go on meanwhile; returns the identities read.
    pub fn warm_screen_pops(&self) -> Result<u64, StoreError> {
        let started = std::time::Instant::now();
        let connection = Connection::open_with_flags(
            self.path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: self.path().display().to_string(),
            source,
        })?;
        // Every column, so that SQLite reads every page of the index, overflow included.
        let identities: i64 = connection.query_row(
            "SELECT COUNT(*) FROM identities
             WHERE length(kind) + length(value) + length(customer_id)
                 + coalesce(length(summary), 0) >= 0",
            [],
            |row| row.get(0),
        )?;
        tracing::info!(
            identities,
            seconds = started.elapsed().as_secs_f64(),
            "screen-pop index read into memory"
        );
        Ok(identities.unsigned_abs())
    }

    /// The offers waiting for `agent` and the interactions they hold.
    pub fn open_work(&self, agent: &str) -> Result<OpenWork, StoreError> {
        let reads = self.reads()?;
        let mut statement = reads.prepare_cached(
            "SELECT r.body FROM open_work w JOIN records r ON r.id = w.id WHERE w.agent_id = ?1",
        )?;
        let rows = statement.query_map([agent], |row| row.get::<_, String>(0))?;
        let mut work = OpenWork::default();
        for body in rows {
            match serde_json::from_str(&body?)? {
                Record::Offer(offer) => work.offers.push(offer),
                Record::Interaction(interaction) => work.interactions.push(interaction),
                _ => {}
            }
        }
        work.offers.sort_by(|a, b| a.offered_at.cmp(&b.offered_at));
        work.interactions
            .sort_by(|a, b| a.started_at.cmp(&b.started_at));
        Ok(work)
    }

    /// What `agent` handled on `day` (`YYYY-MM-DD`, UTC).
    pub fn agent_day(&self, agent: &str, day: &str) -> Result<AgentDay, StoreError> {
        let reads = self.reads()?;
        let found: Option<(i64, i64)> = reads
            .prepare_cached(
                "SELECT handled, handle_seconds FROM agent_days WHERE agent_id = ?1 AND day = ?2",
            )?
            .query_row([agent, day], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let (handled, seconds) = found.unwrap_or_default();
        Ok(AgentDay {
            handled: u32::try_from(handled).unwrap_or(u32::MAX),
            handle_seconds: u32::try_from(seconds).unwrap_or(u32::MAX),
        })
    }

    /// The messages of conversation `id`, oldest first: a chat's thread, across every chat of
    /// the conversation.
    pub fn thread(&self, conversation: &str) -> Result<Vec<Message>, StoreError> {
        let reads = self.reads()?;
        // `customer_id IS NULL` holds for every message; saying it lets SQLite use the partial
        // index by parent.
        let mut statement = reads.prepare_cached(
            "SELECT body FROM records
             WHERE parent_id = ?1 AND customer_id IS NULL AND kind = 'message'",
        )?;
        let rows = statement.query_map([conversation], |row| row.get::<_, String>(0))?;
        let mut messages = Vec::new();
        for body in rows {
            if let Record::Message(message) = serde_json::from_str(&body?)? {
                messages.push(message);
            }
        }
        messages.sort_by(|a, b| a.sent_at.cmp(&b.sent_at).then_with(|| a.id.cmp(&b.id)));
        Ok(messages)
    }

    /// Record `id` as shown, with the hub's version underneath.
    pub fn record(&self, id: &str) -> Result<Option<(Record, u64)>, StoreError> {
        let reads = self.reads()?;
        Ok(records::load(&reads, id)?.map(|Cached { record, version }| (record, version)))
    }

    /// How many records of each kind the cache holds, for status and tests.
    pub fn counts(&self) -> Result<HashMap<String, u64>, StoreError> {
        let reads = self.reads()?;
        let mut statement =
            reads.prepare_cached("SELECT kind, COUNT(*) FROM records GROUP BY kind")?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)?)))?;
        let mut counts = HashMap::new();
        for row in rows {
            let (kind, count) = row?;
            counts.insert(kind, count.unsigned_abs());
        }
        Ok(counts)
    }

    /// Every record the cache shows, with its version, in id order: for comparing the cache
    /// with the hub.
    pub fn all_records(&self) -> Result<Vec<(Record, u64)>, StoreError> {
        let reads = self.reads()?;
        let mut statement =
            reads.prepare_cached("SELECT body, version FROM records ORDER BY id")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut all = Vec::new();
        for row in rows {
            let (body, version) = row?;
            all.push((serde_json::from_str(&body)?, version.unsigned_abs()));
        }
        Ok(all)
    }

    /// Everything about customer `id`, or `None` when the cache does not have them;
    /// [`StoreError::Filling`] while the first sync still fills the cache.
    pub fn customer_file(&self, id: &CustomerId) -> Result<Option<CustomerFile>, StoreError> {
        self.refuse_while_filling()?;
        let reads = self.reads()?;
        let Some(Cached {
            record: Record::Customer(customer),
            ..
        }) = records::load(&reads, id.as_str())?
        else {
            return Ok(None);
        };

        let records = customer_records(&reads, id)?;
        let unsent = unsent_of(&reads, id)?;
        Ok(Some(CustomerFile::assemble(customer, records, unsent)))
    }
}

impl CustomerFile {
    /// The pane's file from a customer and their records (in any order, as the cache or the
    /// hub gives them): orders gathered with their deliveries and payments, open tickets first,
    /// newest first everywhere but the chat thread. `unsent` names the records with changes the
    /// hub has not accepted yet.
    pub fn assemble(customer: Customer, records: Vec<Record>, unsent: Vec<String>) -> CustomerFile {
        let mut file = CustomerFile {
            customer,
            tickets: Vec::new(),
            orders: Vec::new(),
            carts: Vec::new(),
            transactions: Vec::new(),
            conversations: Vec::new(),
            interactions: Vec::new(),
            messages: Vec::new(),
            notes: Vec::new(),
            wrap_ups: Vec::new(),
            unsent,
        };
        let mut deliveries = Vec::new();
        let mut transactions = Vec::new();
        for record in records {
            match record {
                Record::Ticket(ticket) => file.tickets.push(ticket),
                Record::Order(order) => file.orders.push(OrderFile {
                    order,
                    deliveries: Vec::new(),
                    transactions: Vec::new(),
                }),
                Record::Delivery(delivery) => deliveries.push(delivery),
                Record::Cart(cart) => file.carts.push(cart),
                Record::Transaction(transaction) => transactions.push(transaction),
                Record::Conversation(conversation) => file.conversations.push(conversation),
                Record::Interaction(interaction) => file.interactions.push(interaction),
                Record::Message(message) => file.messages.push(message),
                Record::Note(note) => file.notes.push(note),
                Record::WrapUp(wrap_up) => file.wrap_ups.push(wrap_up),
                _ => {}
            }
        }

        let positions: HashMap<String, usize> = file
            .orders
            .iter()
            .enumerate()
            .map(|(index, order)| (order.order.id.to_string(), index))
            .collect();
        for delivery in deliveries {
            if let Some(&index) = positions.get(delivery.order_id.as_str()) {
                file.orders[index].deliveries.push(delivery);
            }
        }
        for transaction in transactions {
            let order = transaction
                .order_id
                .as_ref()
                .and_then(|order| positions.get(order.as_str()));
            match order {
                Some(&index) => file.orders[index].transactions.push(transaction),
                None => file.transactions.push(transaction),
            }
        }

        // Timestamps are RFC 3339 in UTC, so they sort as text.
        file.tickets.sort_by(|a, b| {
            b.status
                .is_open()
                .cmp(&a.status.is_open())
                .then_with(|| b.updated_at.cmp(&a.updated_at))
        });
        file.orders
            .sort_by(|a, b| b.order.placed_at.cmp(&a.order.placed_at));
        file.interactions
            .sort_by(|a, b| b.started_at.cmp(&a.started_at));
        file.messages.sort_by(|a, b| a.sent_at.cmp(&b.sent_at));
        file.notes.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        file.transactions.sort_by(|a, b| b.at.cmp(&a.at));
        file
    }
}

/// The records of customer `id` and those that hang from them (messages from conversations,
/// wrap-ups from interactions).
fn customer_records(reads: &Connection, id: &CustomerId) -> Result<Vec<Record>, StoreError> {
    let mut statement = reads.prepare_cached(CUSTOMER_RECORDS)?;
    let rows = statement.query_map([id.as_str()], |row| row.get::<_, String>(0))?;
    let mut found = Vec::new();
    for body in rows {
        found.push(serde_json::from_str(&body?)?);
    }
    Ok(found)
}

/// The records of one customer (`?1`), and the messages and wrap-ups of their conversations
/// and interactions. `m.customer_id IS NULL` holds for those anyway; saying it lets SQLite use
/// the partial index by parent.
const CUSTOMER_RECORDS: &str =
    "SELECT body FROM records WHERE customer_id = ?1 AND kind <> 'customer'
     UNION ALL
     SELECT m.body FROM records c JOIN records m ON m.parent_id = c.id
     WHERE c.customer_id = ?1 AND c.kind IN ('conversation', 'interaction')
       AND m.customer_id IS NULL AND m.kind IN ('message', 'wrap_up')";

/// Which of customer `id`'s records have unsent changes.
fn unsent_of(reads: &Connection, id: &CustomerId) -> Result<Vec<String>, StoreError> {
    let mut statement = reads.prepare_cached(UNSENT_OF)?;
    let rows = statement.query_map([id.as_str()], |row| row.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Which of one customer's (`?1`) records have unsent changes: few rows in `bases`, each
/// joined by id.
const UNSENT_OF: &str = "SELECT b.id FROM bases b JOIN records r ON r.id = b.id
     WHERE r.customer_id = ?1 OR r.id = ?1
     UNION
     SELECT b.id FROM bases b JOIN records m ON m.id = b.id
     JOIN records c ON c.id = m.parent_id WHERE c.customer_id = ?1";

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps of SQLite's plan for `sql`, one line each.
    fn plan(connection: &Connection, sql: &str) -> Vec<String> {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("the query compiles");
        statement
            .query_map(["cus_1"], |row| row.get::<_, String>(3))
            .expect("the plan is readable")
            .collect::<Result<_, _>>()
            .expect("every plan step is text")
    }

    #[test]
    fn the_customer_pane_reads_through_indexes() {
        let mut connection = Connection::open_in_memory().expect("an in-memory database opens");
        crate::schema::migrate(&mut connection).expect("the migrations apply");

        for sql in [CUSTOMER_RECORDS, UNSENT_OF] {
            let steps = plan(&connection, sql);
            let scans: Vec<&String> = steps
                .iter()
                .filter(|step| step.starts_with("SCAN r") || step.starts_with("SCAN m"))
                .filter(|step| !step.contains("USING"))
                .collect();
            assert!(
                scans.is_empty(),
                "the customer pane must not read every record of a cache that holds millions; \
                 plan {steps:?}"
            );
        }
    }
}
