//! The cache's schema, as append-only migrations: a released migration never changes, a new
//! one is added at the end.

use rusqlite::Connection;

use crate::StoreError;

/// Schema changes, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: the records the hub sends, the indexes the window reads them through, the outbox of
    // the agent's writes, and the sync cursor.
    "
    -- Every record as the window shows it: the hub's latest state, with the agent's unsent
    -- changes laid over it. `version` is the hub's version of the state underneath.
    CREATE TABLE records (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        customer_id TEXT,
        -- The record this one hangs from: a message's conversation, a wrap-up's interaction,
        -- a delivery's order, an interaction's conversation.
        parent_id TEXT,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX records_by_customer ON records (customer_id, kind);
    CREATE INDEX records_by_parent ON records (parent_id, kind);

    -- Who an identity points at; several customers may share one (a household's landline).
    CREATE TABLE identities (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        PRIMARY KEY (kind, value, customer_id)
    ) WITHOUT ROWID;
    CREATE INDEX identities_by_customer ON identities (customer_id);

    -- Type-ahead search over names, e-mail addresses, phone numbers, order numbers and ticket
    -- subjects. Its rowid is the record's; contentless, because the text is in `records`.
    CREATE VIRTUAL TABLE search USING fts5 (
        text,
        content = '',
        contentless_delete = 1,
        prefix = '1 2 3',
        tokenize = 'unicode61 remove_diacritics 2'
    );

    -- The hub's latest state of a record the agent has unsent changes to; the shown state in
    -- `records` is this with those changes laid over it. A row exists exactly while the record
    -- has outbox rows that are not finished. `body` is NULL when the hub has no such record
    -- (yet, for a create; any more, for a deletion).
    CREATE TABLE bases (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT
    ) WITHOUT ROWID;

    -- The agent's writes, in the order they were made, each waiting for the hub or finished.
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        op_id TEXT NOT NULL UNIQUE,
        record_id TEXT NOT NULL,
        record_kind TEXT NOT NULL,
        -- The action, as JSON, so that it can be laid over a newer base again, with who made
        -- it and when (RFC 3339).
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        made_at TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        -- The exact body sent, every time: the hub recognises a retry by key and body.
        body TEXT NOT NULL,
        -- Whether the request must carry If-Match, and which version it names once known.
        needs_if_match INTEGER NOT NULL,
        if_match INTEGER,
        -- pending, conflict, parked, accepted or discarded.
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        finished_at INTEGER,
        hub_status INTEGER,
        hub_version INTEGER,
        -- For a conflict: the hub's record as it stands, and its version.
        theirs TEXT,
        theirs_version INTEGER
    );
    CREATE INDEX outbox_by_record ON outbox (record_id, seq);
    CREATE INDEX outbox_by_state ON outbox (state, seq);

    -- Single values: the feed cursor, and which hub and tenant the cache holds.
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // 2: leaner indexes for the customer pane. Records are found by their customer alone; by
    // their parent only when they carry no customer of their own (messages, wrap-ups), which
    // are the only ones the pane reaches through their parent. An initial sync may have
    // dropped both for the while it runs, hence `IF EXISTS`.
    "
    DROP INDEX IF EXISTS records_by_customer;
    DROP INDEX IF EXISTS records_by_parent;
    CREATE INDEX records_by_customer ON records (customer_id);
    CREATE INDEX records_by_parent ON records (parent_id) WHERE customer_id IS NULL;
    ",
    // 3: an identity points at its customer's row as well as their id, so that a screen pop
    // reads two pages (the identity, the customer) instead of three (and the third from the
    // largest index of all, every record's id).
    "
    ALTER TABLE identities ADD COLUMN record INTEGER;
    UPDATE identities SET record = (SELECT rowid FROM records WHERE records.id = identities.customer_id);
    ",
    // 4: an identity carries the summary a screen pop shows, so that a pop reads the identity
    // index alone, which is small enough to keep in memory. Rows written before stay NULL
    // until their customer changes; the lookup reads the record for those.
    "
    ALTER TABLE identities ADD COLUMN summary TEXT;
    ",
    // 5: a write can need another record at the hub first (a wrap-up its call, a note the
    // interaction it was written in); `after_record` names it, and the row waits while that
    // record has older unfinished rows.
    "
    ALTER TABLE outbox ADD COLUMN after_record TEXT;
    ",
    // 6: the work open for each agent: offers waiting for their answer and interactions they
    // hold. A few rows per agent, kept in step with the records, so that the work list never
    // reads every offer the cache has ever seen.
    "
    CREATE TABLE open_work (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        agent_id TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX open_work_by_agent ON open_work (agent_id);
    INSERT INTO open_work (id, kind, agent_id)
    SELECT id, kind, json_extract(body, '$.record.agent_id') FROM records
    WHERE ((kind = 'offer' AND json_extract(body, '$.record.state') = 'pending')
        OR (kind = 'interaction' AND json_extract(body, '$.record.state') = 'active'))
      AND json_extract(body, '$.record.agent_id') IS NOT NULL;
    ",
    // 7: each agent's wrap-ups counted per day (UTC), for "My day": how many interactions they
    // handled and for how long, without reading every wrap-up the cache holds.
    "
    CREATE TABLE agent_days (
        agent_id TEXT NOT NULL,
        day TEXT NOT NULL,
        handled INTEGER NOT NULL,
        handle_seconds INTEGER NOT NULL,
        PRIMARY KEY (agent_id, day)
    ) WITHOUT ROWID;
    INSERT INTO agent_days (agent_id, day, handled, handle_seconds)
    SELECT json_extract(body, '$.record.agent_id'), substr(json_extract(body, '$.record.created_at'), 1, 10),
           COUNT(*), SUM(json_extract(body, '$.record.handle_seconds'))
    FROM records WHERE kind = 'wrap_up'
    GROUP BY 1, 2;
    ",
];

/// The indexes an initial sync drops while it runs and builds once at its end, as the latest
/// migration defines them: built from a full table they cost a sort, while kept up to date row
/// by row they cost a random write per record and index. A migration that changes one of these
/// must change it here too (a test compares the two).
pub(crate) const DEFERRED_INDEXES: &[(&str, &str)] = &[
    (
        "records_by_customer",
        "CREATE INDEX IF NOT EXISTS records_by_customer ON records (customer_id)",
    ),
    (
        "records_by_parent",
        "CREATE INDEX IF NOT EXISTS records_by_parent ON records (parent_id) WHERE customer_id IS NULL",
    ),
];

/// Brings the schema of `connection` up to date, in one transaction.
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let applied: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if applied > known {
        return Err(StoreError::TooNew {
            found: applied,
            known,
        });
    }
    for (index, script) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        transaction.execute_batch(script)?;
        tracing::info!(version = index + 1, "applied cache schema migration");
    }
    transaction.pragma_update(None, "user_version", known)?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_indexes_are_the_ones_the_migrations_make() {
        let mut connection = Connection::open_in_memory().expect("an in-memory database opens");
        migrate(&mut connection).expect("the migrations apply to an empty database");

        for (name, definition) in DEFERRED_INDEXES {
            let made: String = connection
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .expect("every deferred index exists after the migrations");
            assert_eq!(
                definition.replace("IF NOT EXISTS ", ""),
                made,
                "an initial sync must build {name} exactly as the migrations define it, or a \
                 cache would differ by how it was filled"
            );
        }
    }
}
