//! The record log behind the change feed: every record a desktop syncs, stored as its latest
//! state with the sequence number of its latest change, per tenant.
//!
//! Each write takes the next number from the tenant's counter inside its own transaction, so
//! changes commit in sequence order and a reader that has seen number N has seen everything
//! below it. A deleted record keeps its row as a tombstone, so that the deletion reaches
//! desktops that synced the record earlier.

use rusqlite::{Connection, params};
use switchboard_model::{Change, ChangePage, Cursor, Record, RecordKind, TenantId};

use crate::store::StoreError;

/// Writes `records` as created or updated, each with the next sequence number of `tenant`.
pub fn put_records<'a>(
    connection: &mut Connection,
    tenant: &TenantId,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<i64, StoreError> {
    let transaction = connection.transaction()?;
    let mut last = last_seq(&transaction, tenant)?;
    {
        let mut upsert = transaction.prepare_cached(
            "INSERT INTO records (tenant_id, seq, kind, id, customer_id, deleted, body)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
             ON CONFLICT (tenant_id, id) DO UPDATE SET
                seq = excluded.seq, customer_id = excluded.customer_id, deleted = 0,
                body = excluded.body",
        )?;
        for record in records {
            last += 1;
            let body = serde_json::to_string(record).map_err(StoreError::Encode)?;
            upsert.execute(params![
                tenant.as_str(),
                last,
                record.kind().as_str(),
                record.id(),
                record.customer_id().map(|id| id.as_str()),
                body,
            ])?;
        }
    }
    set_last_seq(&transaction, tenant, last)?;
    transaction.commit()?;
    Ok(last)
}

/// Marks a record deleted; it stays in the feed as a tombstone. Returns whether it existed.
pub fn delete_record(
    connection: &mut Connection,
    tenant: &TenantId,
    id: &str,
) -> Result<bool, StoreError> {
    let transaction = connection.transaction()?;
    let next = last_seq(&transaction, tenant)? + 1;
    let changed = transaction.execute(
        "UPDATE records SET deleted = 1, body = NULL, seq = ?3
         WHERE tenant_id = ?1 AND id = ?2 AND deleted = 0",
        params![tenant.as_str(), id, next],
    )?;
    if changed > 0 {
        set_last_seq(&transaction, tenant, next)?;
    }
    transaction.commit()?;
    Ok(changed > 0)
}

/// The changes of `tenant` after sequence number `after`, oldest first, at most `limit`.
pub fn changes(
    connection: &Connection,
    tenant: &TenantId,
    after: i64,
    limit: usize,
) -> Result<ChangePage, StoreError> {
    // One row more than asked tells whether another page follows without a second query.
    let mut statement = connection.prepare_cached(
        "SELECT seq, kind, id, deleted, body FROM records
         WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let mut rows = statement.query(params![tenant.as_str(), after, limit as i64 + 1])?;

    let mut changes = Vec::with_capacity(limit);
    let mut cursor = after;
    let mut has_more = false;
    while let Some(row) = rows.next()? {
        if changes.len() == limit {
            has_more = true;
            break;
        }
        let seq: i64 = row.get(0)?;
        let kind: String = row.get(1)?;
        let deleted: bool = row.get(3)?;
        let position = Cursor(seq.to_string());
        let change = if deleted {
            let kind = RecordKind::parse(&kind).ok_or(StoreError::UnknownRecordKind(kind))?;
            Change::Delete {
                cursor: position,
                kind,
                id: row.get(2)?,
            }
        } else {
            let body: String = row.get(4)?;
            let record: Record = serde_json::from_str(&body).map_err(StoreError::Decode)?;
            Change::Upsert {
                cursor: position,
                record: Box::new(record),
            }
        };
        changes.push(change);
        cursor = seq;
    }
    Ok(ChangePage {
        changes,
        cursor: Cursor(cursor.to_string()),
        has_more,
    })
}

/// The newest sequence number of `tenant`, 0 before its first change.
fn last_seq(connection: &Connection, tenant: &TenantId) -> Result<i64, StoreError> {
    let last = connection
        .query_row(
            "SELECT last_seq FROM sequences WHERE tenant_id = ?1",
            [tenant.as_str()],
            |row| row.get(0),
        )
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(0),
            other => Err(other),
        })?;
    Ok(last)
}

fn set_last_seq(connection: &Connection, tenant: &TenantId, last: i64) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO sequences (tenant_id, last_seq) VALUES (?1, ?2)
         ON CONFLICT (tenant_id) DO UPDATE SET last_seq = excluded.last_seq",
        params![tenant.as_str(), last],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use crate::store::HubStore;

    fn tenant() -> TenantId {
        TenantId::from_number(1)
    }

    fn demo_records(count: usize) -> Vec<Record> {
        let now = time::macros::datetime!(2026-12-01 12:00 UTC);
        let (_, people, _) = demo::world(4, count, now);
        people.into_iter().map(Record::Customer).collect()
    }

    /// Reads the whole feed from `after` in pages of `limit`.
    fn read_all(store: &HubStore, after: i64, limit: usize) -> Vec<Change> {
        let mut all = Vec::new();
        let mut cursor = after;
        loop {
            let page = store
                .with(|c| changes(c, &tenant(), cursor, limit))
                .expect("feed reads");
            let next: i64 = page.cursor.0.parse().expect("cursors are numbers");
            assert!(next >= cursor, "a cursor never moves backwards");
            all.extend(page.changes);
            cursor = next;
            if !page.has_more {
                return all;
            }
        }
    }

    #[test]
    fn the_feed_from_zero_holds_every_record_once_in_order() {
        let store = HubStore::open_in_memory().expect("a database");
        let records = demo_records(25);
        store
            .with(|c| put_records(c, &tenant(), &records))
            .expect("records are written");

        let feed = read_all(&store, 0, 7);
        let ids: Vec<&str> = feed
            .iter()
            .map(|change| match change {
                Change::Upsert { record, .. } => record.id(),
                Change::Delete { id, .. } => id.as_str(),
            })
            .collect();
        let expected: Vec<&str> = records.iter().map(Record::id).collect();
        assert_eq!(
            ids, expected,
            "every record once, in the order it was written"
        );
    }

    #[test]
    fn an_update_moves_the_record_to_the_end_and_a_delete_leaves_a_tombstone() {
        let store = HubStore::open_in_memory().expect("a database");
        let records = demo_records(3);
        let last = store
            .with(|c| put_records(c, &tenant(), &records))
            .expect("written");

        let mut changed = records[0].clone();
        if let Record::Customer(customer) = &mut changed {
            customer.display_name.push_str(" (renamed)");
        }
        store
            .with(|c| put_records(c, &tenant(), [&changed]))
            .expect("updated");
        let deleted = store
            .with(|c| delete_record(c, &tenant(), records[1].id()))
            .expect("ok");
        assert!(deleted, "an existing record is deleted");

        let since = read_all(&store, last, 100);
        assert_eq!(
            since.len(),
            2,
            "a reader at the old cursor sees exactly the two changes"
        );
        assert!(
            matches!(&since[0], Change::Upsert { record, .. } if **record == changed),
            "first the update, with the whole new state"
        );
        assert!(
            matches!(&since[1], Change::Delete { id, kind: RecordKind::Customer, .. } if id == records[1].id()),
            "then the tombstone"
        );

        let everything = read_all(&store, 0, 100);
        assert_eq!(
            everything.len(),
            3,
            "from zero each record appears once, in its latest state"
        );
    }

    #[test]
    fn reading_a_page_twice_gives_the_same_page() {
        let store = HubStore::open_in_memory().expect("a database");
        store
            .with(|c| put_records(c, &tenant(), &demo_records(10)))
            .expect("written");

        let first = store
            .with(|c| changes(c, &tenant(), 3, 4))
            .expect("feed reads");
        let again = store
            .with(|c| changes(c, &tenant(), 3, 4))
            .expect("feed reads");
        assert_eq!(first, again, "a page is a pure function of its cursor");
        assert_eq!(
            first.cursor.0, "7",
            "the cursor is the last change's number"
        );
        assert!(first.has_more, "three more changes wait");
    }

    #[test]
    fn tenants_see_only_their_own_changes() {
        let store = HubStore::open_in_memory().expect("a database");
        store
            .with(|c| put_records(c, &tenant(), &demo_records(4)))
            .expect("written");

        let other = TenantId::from_number(2);
        let page = store
            .with(|c| changes(c, &other, 0, 100))
            .expect("feed reads");
        assert!(page.changes.is_empty(), "another tenant's feed is empty");
        assert_eq!(page.cursor.0, "0", "and its cursor stays at the start");
    }
}
