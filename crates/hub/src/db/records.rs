//! The record log: every record a desktop syncs, stored as its latest state with its version and
//! the sequence number of its latest change, per tenant; and the writes that change it.
//!
//! Each write takes the next number from its tenant's counter as the first statement of its
//! transaction. The counter row stays locked until the commit, so one tenant's changes commit
//! in sequence order and a reader that has seen number N has seen everything below it. A
//! deleted record keeps its row as a tombstone so that the deletion reaches desktops that
//! synced the record earlier.

use sqlx::{Any, Transaction};
use switchboard_model::{
    Change, ChangePage, Cursor, Customer, CustomerId, CustomerSummary, IdentityKind, Record,
    RecordKind, Tenant, TenantId,
};

use super::{Backend, Database, DbError};

/// A record as stored: its state, its version (bumped by every write) and the position of its
/// latest change in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub record: Record,
    pub version: u64,
    pub seq: i64,
}

/// That a tenant's feed moved: every change up to `seq` is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bell {
    pub tenant: TenantId,
    pub seq: i64,
}

/// What a write expects to find before it changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Creating: no record with this id may exist.
    Absent,
    /// Updating: the record must exist at exactly this version (`If-Match`).
    Version(u64),
    /// Updating whatever is there; for writes the hub itself makes.
    Existing,
    /// Creating or updating: a write that states the whole of what it knows (a `PUT`).
    Any,
}

/// An `Idempotency-Key` and a digest of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

/// The answer a write gave, kept under its idempotency key so that a retry gets it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResult {
    /// 201 when the write created the record, 200 when it updated it.
    pub status: u16,
    pub version: u64,
    /// The record as the write left it, as JSON.
    pub body: String,
    /// Whether this is the stored answer to an earlier request with the same key.
    pub replayed: bool,
}

/// Why a write changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("this Idempotency-Key was already used with a different request")]
    KeyReused,
    #[error("the record changed since it was read")]
    VersionMismatch(Box<Stored>),
    #[error("a record with this id already exists")]
    AlreadyExists(Box<Stored>),
    #[error("no such record")]
    NotFound,
    /// The caller's `build` step refused the change.
    #[error("the change was refused")]
    Refused(E),
}

impl<E> From<sqlx::Error> for WriteError<E> {
    fn from(error: sqlx::Error) -> Self {
        WriteError::Db(DbError::Query(error))
    }
}

impl Database {
    /// Creates `tenant` with an empty feed, or renames it if it exists.
    pub async fn put_tenant(&self, tenant: &Tenant) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO tenants (id, name, last_seq) VALUES ($1, $2, 0)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        )
        .bind(tenant.id.as_str())
        .bind(&tenant.name)
        .execute(self.writes())
        .await?;
        Ok(())
    }

    /// The tenant named `id`, if it exists.
    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, DbError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT id, name FROM tenants WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(id, name)| Tenant {
            id: TenantId(id),
            name,
        }))
    }

    /// Writes `records` as created or updated, each with the next sequence number of
    /// `tenant`, without conditions: for the hub's own writes (demo data, simulation).
    pub async fn put_records(&self, tenant: &TenantId, records: &[Record]) -> Result<i64, DbError> {
        let mut transaction = self.begin_write().await?;
        let first = reserve_seqs(&mut transaction, tenant, records.len() as i64).await?;

        let mut seq = first;
        for record in records {
            let current = version_of(&mut transaction, tenant, record.id()).await?;
            upsert(
                &mut transaction,
                tenant,
                record,
                current.unwrap_or(0) + 1,
                seq,
            )
            .await?;
            seq += 1;
        }
        let last = seq - 1;
        self.announce(&mut transaction, tenant, last).await?;
        transaction.commit().await?;
        self.ring(tenant, last);
        Ok(last)
    }

    /// Inserts records that are new to `tenant`, many rows per statement: the fast path for
    /// seeding a large demo. Each gets version 1 and the next sequence number, in order.
    /// Records that already exist make the whole call fail; use [`Self::put_records`] for them.
    pub async fn insert_new_records(
        &self,
        tenant: &TenantId,
        records: &mut [Record],
    ) -> Result<i64, DbError> {
        /// Rows per statement: far below both engines' limits on bound parameters.
        const ROWS: usize = 200;
        const COLUMNS: usize = 10;

        let mut transaction = self.begin_write().await?;
        let first = reserve_seqs(&mut transaction, tenant, records.len() as i64).await?;
        for record in records.iter_mut() {
            record.set_version(1);
        }

        for (chunk_index, chunk) in records.chunks(ROWS).enumerate() {
            let mut sql = String::from(
                "INSERT INTO records (tenant_id, id, kind, customer_id, version, seq, body,
                    sort_key, search, state, deleted) VALUES ",
            );
            for row in 0..chunk.len() {
                let base = row * COLUMNS;
                if row > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for column in 1..=COLUMNS {
                    sql.push_str(&format!("${},", base + column));
                }
                sql.push_str("0)");
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (row, record) in chunk.iter().enumerate() {
                let seq = first + (chunk_index * ROWS + row) as i64;
                let (sort_key, search) = customer_columns(record);
                query = query
                    .bind(tenant.as_str().to_owned())
                    .bind(record.id().to_owned())
                    .bind(record.kind().as_str())
                    .bind(record.customer_id().map(|id| id.as_str().to_owned()))
                    .bind(1_i64)
                    .bind(seq)
                    .bind(serde_json::to_string(record).map_err(DbError::Encode)?)
                    .bind(sort_key)
                    .bind(search)
                    .bind(record.state_name());
            }
            query.execute(&mut *transaction).await?;

            let identities: Vec<(&str, &str, &str)> = chunk
                .iter()
                .filter_map(|record| match record {
                    Record::Customer(customer) => Some(customer),
                    _ => None,
                })
                .flat_map(|customer| {
                    customer.identities.iter().map(move |identity| {
                        (
                            identity.kind.as_str(),
                            identity.value.as_str(),
                            customer.id.as_str(),
                        )
                    })
                })
                .collect();
            for rows in identities.chunks(ROWS) {
                let mut sql = String::from(
                    "INSERT INTO identities (tenant_id, kind, value, customer_id) VALUES ",
                );
                for row in 0..rows.len() {
                    let base = row * 4;
                    if row > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "(${}, ${}, ${}, ${})",
                        base + 1,
                        base + 2,
                        base + 3,
                        base + 4
                    ));
                }
                sql.push_str(" ON CONFLICT DO NOTHING");
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (kind, value, customer) in rows {
                    query = query
                        .bind(tenant.as_str().to_owned())
                        .bind(*kind)
                        .bind((*value).to_owned())
                        .bind((*customer).to_owned());
                }
                query.execute(&mut *transaction).await?;
            }
        }

        let last = first + records.len() as i64 - 1;
        self.announce(&mut transaction, tenant, last).await?;
        transaction.commit().await?;
        self.ring(tenant, last);
        Ok(last)
    }

    /// Writes one record under the rules of an agent's write: the idempotency key is checked
    /// first, then `expect`, then `build` makes the new state from the current one. Nothing
    /// changes unless all three pass.
    pub async fn write<E>(
        &self,
        tenant: &TenantId,
        id: &str,
        key: Option<&IdempotencyKey>,
        expect: Expect,
        build: impl FnOnce(Option<&Stored>) -> Result<Record, E>,
    ) -> Result<WriteResult, WriteError<E>> {
        let mut transaction = self.begin_write().await?;

        // The counter first: on SQLite this takes the write lock before anything is read, so
        // two writers cannot both read and then collide; on PostgreSQL it locks the tenant's
        // row, which orders the tenant's commits. A write that changes nothing rolls back and
        // gives its number back.
        let seq = reserve_seqs(&mut transaction, tenant, 1).await?;

        // The earlier answer under this key and the record as it stands, in one round trip:
        // the tenant's row stays locked until the commit, so every statement in between
        // holds up the tenant's other writes.
        let (earlier, current) = key_and_record(&mut transaction, tenant, key, id).await?;
        if let (Some(key), Some((request_hash, status, version, body))) = (key, earlier) {
            transaction.rollback().await?;
            if request_hash != key.request_hash {
                return Err(WriteError::KeyReused);
            }
            return Ok(WriteResult {
                status: u16::try_from(status).unwrap_or(200),
                version: version.unsigned_abs(),
                body,
                replayed: true,
            });
        }

        match (expect, &current) {
            (Expect::Absent, Some(stored)) => {
                return Err(WriteError::AlreadyExists(Box::new(stored.clone())));
            }
            (Expect::Version(_) | Expect::Existing, None) => return Err(WriteError::NotFound),
            (Expect::Version(expected), Some(stored)) if stored.version != expected => {
                return Err(WriteError::VersionMismatch(Box::new(stored.clone())));
            }
            _ => {}
        }

        let mut record = build(current.as_ref()).map_err(WriteError::Refused)?;
        let version = current.as_ref().map_or(0, |stored| stored.version) + 1;
        record.set_version(version);
        let status: u16 = if current.is_none() { 201 } else { 200 };
        // The answer is the record itself, without the kind tag the feed wraps it in: the
        // route already says what kind it writes.
        let mut tagged = serde_json::to_value(&record).map_err(DbError::Encode)?;
        let body = tagged["record"].take().to_string();
        let answer = key.map(|key| (key, status, body.as_str()));
        if self.backend() == Backend::Postgres && !matches!(record, Record::Customer(_)) {
            store_in_one(&mut transaction, tenant, &record, version, seq, answer).await?;
        } else {
            upsert(&mut transaction, tenant, &record, version, seq).await?;
            if let Some((key, status, body)) = answer {
                remember_answer(
                    &mut transaction,
                    tenant,
                    record.id(),
                    key,
                    status,
                    version,
                    body,
                )
                .await?;
            }
            self.announce(&mut transaction, tenant, seq).await?;
        }

        transaction.commit().await?;
        self.ring(tenant, seq);
        Ok(WriteResult {
            status,
            version,
            body,
            replayed: false,
        })
    }

    /// Writes several records in one transaction, each only if it is as `expect` says; when
    /// any is not, nothing is written. For changes that must land together, such as an offer
    /// and the interaction it offers. Returns the new versions, in order.
    pub async fn write_together(
        &self,
        tenant: &TenantId,
        changes: Vec<(Record, Expect)>,
    ) -> Result<Vec<u64>, WriteError<()>> {
        let mut transaction = self.begin_write().await?;
        let first = reserve_seqs(&mut transaction, tenant, changes.len() as i64).await?;

        let mut versions = Vec::with_capacity(changes.len());
        for (offset, (mut record, expect)) in changes.into_iter().enumerate() {
            let current = load(&mut transaction, tenant, record.id()).await?;
            match (expect, &current) {
                (Expect::Absent, Some(stored)) => {
                    return Err(WriteError::AlreadyExists(Box::new(stored.clone())));
                }
                (Expect::Version(_) | Expect::Existing, None) => return Err(WriteError::NotFound),
                (Expect::Version(expected), Some(stored)) if stored.version != expected => {
                    return Err(WriteError::VersionMismatch(Box::new(stored.clone())));
                }
                _ => {}
            }
            let version = current.map_or(0, |stored| stored.version) + 1;
            record.set_version(version);
            upsert(
                &mut transaction,
                tenant,
                &record,
                version,
                first + offset as i64,
            )
            .await?;
            versions.push(version);
        }

        let last = first + versions.len() as i64 - 1;
        self.announce(&mut transaction, tenant, last).await?;
        transaction.commit().await?;
        self.ring(tenant, last);
        Ok(versions)
    }

    /// Marks a record deleted; it stays in the feed as a tombstone and its idempotency keys
    /// go with it. Returns whether it existed.
    pub async fn delete_record(&self, tenant: &TenantId, id: &str) -> Result<bool, DbError> {
        let mut transaction = self.begin_write().await?;
        let seq = reserve_seqs(&mut transaction, tenant, 1).await?;
        let changed = sqlx::query(
            "UPDATE records SET deleted = 1, body = NULL, seq = $3, version = version + 1
             WHERE tenant_id = $1 AND id = $2 AND deleted = 0",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(seq)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if changed == 0 {
            transaction.rollback().await?;
            return Ok(false);
        }
        for statement in [
            "DELETE FROM identities WHERE tenant_id = $1 AND customer_id = $2",
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND record_id = $2",
        ] {
            sqlx::query(statement)
                .bind(tenant.as_str())
                .bind(id)
                .execute(&mut *transaction)
                .await?;
        }
        self.announce(&mut transaction, tenant, seq).await?;
        transaction.commit().await?;
        self.ring(tenant, seq);
        Ok(true)
    }

    /// The live record `id` of `tenant`, if it exists.
    pub async fn record(&self, tenant: &TenantId, id: &str) -> Result<Option<Stored>, DbError> {
        let mut connection = self.pool().acquire().await?;
        load(&mut connection, tenant, id).await
    }

    /// The records of `customer`, oldest change first, optionally of one kind.
    pub async fn customer_records(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        kind: Option<RecordKind>,
        limit: usize,
    ) -> Result<Vec<Stored>, DbError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT body, version, seq FROM records
             WHERE tenant_id = $1 AND customer_id = $2 AND deleted = 0
               AND kind <> 'customer' AND ($3 IS NULL OR kind = $3)
             ORDER BY seq LIMIT $4",
        )
        .bind(tenant.as_str())
        .bind(customer.as_str())
        .bind(kind.map(RecordKind::as_str))
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(decode).collect()
    }

    /// Every live record of `kind` in `tenant`, in id order; for the small kinds (agents,
    /// queues).
    pub async fn records_of_kind(
        &self,
        tenant: &TenantId,
        kind: RecordKind,
    ) -> Result<Vec<Stored>, DbError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT body, version, seq FROM records
             WHERE tenant_id = $1 AND kind = $2 AND deleted = 0 ORDER BY id",
        )
        .bind(tenant.as_str())
        .bind(kind.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(decode).collect()
    }

    /// The live records of `kind` in `tenant` whose state is one of `states` (interactions and
    /// offers), oldest change first.
    pub async fn records_in_state(
        &self,
        tenant: &TenantId,
        kind: RecordKind,
        states: &[&str],
    ) -> Result<Vec<Stored>, DbError> {
        let mut found = Vec::new();
        for state in states {
            let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT body, version, seq FROM records
                 WHERE tenant_id = $1 AND kind = $2 AND state = $3 AND deleted = 0",
            )
            .bind(tenant.as_str())
            .bind(kind.as_str())
            .bind(*state)
            .fetch_all(self.pool())
            .await?;
            for row in rows {
                found.push(decode(row)?);
            }
        }
        found.sort_by_key(|stored| stored.seq);
        Ok(found)
    }

    /// Every tenant on this hub.
    pub async fn tenants(&self) -> Result<Vec<TenantId>, DbError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM tenants ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|(id,)| TenantId(id)).collect())
    }

    /// How many live records of `kind` `tenant` holds.
    pub async fn count(&self, tenant: &TenantId, kind: RecordKind) -> Result<u64, DbError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM records WHERE tenant_id = $1 AND kind = $2 AND deleted = 0",
        )
        .bind(tenant.as_str())
        .bind(kind.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(count.unsigned_abs())
    }

    /// One page of `tenant`'s customers in name order, each with the position of its row.
    /// `text` must appear in the name, the company or an identity.
    pub async fn search_customers(
        &self,
        tenant: &TenantId,
        text: Option<&str>,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, CustomerSummary)>, DbError> {
        // LIKE treats % and _ as wildcards; escape them so that a search for "50%" means just
        // that.
        let pattern = text.map(|text| {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT sort_key, body FROM records
             WHERE tenant_id = $1 AND kind = 'customer' AND deleted = 0
               AND ($2 IS NULL OR search LIKE $2 ESCAPE '\\')
               AND ($3 IS NULL OR (sort_key, id) > ($3, $4))
             ORDER BY sort_key, id LIMIT $5",
        )
        .bind(tenant.as_str())
        .bind(pattern)
        .bind(after.map(|(key, _)| key))
        .bind(after.map(|(_, id)| id))
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;

        rows.into_iter()
            .map(|(sort_key, body)| {
                let customer: Customer = decode_customer(&body)?;
                Ok((sort_key, customer.summary()))
            })
            .collect()
    }

    /// Every customer of `tenant` with the identity `kind`/`value`, in name order. Several
    /// customers can share an identity (a household's landline), so this is a list: the
    /// caller must let a person choose rather than guess.
    pub async fn customers_by_identity(
        &self,
        tenant: &TenantId,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Vec<CustomerSummary>, DbError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT r.body FROM identities i
             JOIN records r ON r.tenant_id = i.tenant_id AND r.id = i.customer_id
             WHERE i.tenant_id = $1 AND i.kind = $2 AND i.value = $3 AND r.deleted = 0
             ORDER BY r.sort_key, r.id",
        )
        .bind(tenant.as_str())
        .bind(kind.as_str())
        .bind(value)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(body,)| Ok(decode_customer(&body)?.summary()))
            .collect()
    }

    /// The changes of `tenant` after sequence number `after`, oldest first, at most `limit`.
    pub async fn changes(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<ChangePage, DbError> {
        let rows = self.change_rows(tenant, after, limit).await?;

        let has_more = rows.len() > limit;
        let mut changes = Vec::with_capacity(rows.len().min(limit));
        let mut cursor = after;
        for (seq, kind, id, version, deleted, body) in rows.into_iter().take(limit) {
            let position = Cursor(seq.to_string());
            let change = match (deleted, body) {
                (0, Some(body)) => Change::Upsert {
                    cursor: position,
                    version: version.unsigned_abs(),
                    record: Box::new(serde_json::from_str(&body).map_err(DbError::Decode)?),
                },
                _ => Change::Delete {
                    cursor: position,
                    kind: RecordKind::parse(&kind).ok_or(DbError::UnknownRecordKind(kind))?,
                    id,
                },
            };
            changes.push(change);
            cursor = seq;
        }
        Ok(ChangePage {
            changes,
            cursor: Cursor(cursor.to_string()),
            has_more,
            remaining: None,
        })
    }

    /// The same page as [`Self::changes`], as the JSON the API sends, written straight from
    /// the stored bodies. Serving a desk's initial sync is mostly this: decoding every record
    /// only to encode it again cost more than the query.
    pub async fn changes_json(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
        remaining: Option<u64>,
    ) -> Result<String, DbError> {
        let rows = self.change_rows(tenant, after, limit).await?;

        let has_more = rows.len() > limit;
        let mut json = String::with_capacity(
            rows.iter()
                .map(|row| row.5.as_ref().map_or(64, String::len) + 64)
                .sum(),
        );
        json.push_str("{\"changes\":[");
        let mut cursor = after;
        for (index, (seq, kind, id, version, deleted, body)) in
            rows.into_iter().take(limit).enumerate()
        {
            if index > 0 {
                json.push(',');
            }
            match (deleted, body) {
                (0, Some(body)) => {
                    json.push_str(&format!(
                        "{{\"op\":\"upsert\",\"cursor\":\"{seq}\",\"version\":{},\"record\":",
                        version.unsigned_abs()
                    ));
                    json.push_str(&body);
                    json.push('}');
                }
                _ => {
                    let kind = RecordKind::parse(&kind).ok_or(DbError::UnknownRecordKind(kind))?;
                    json.push_str(&format!(
                        "{{\"op\":\"delete\",\"cursor\":\"{seq}\",\"kind\":\"{}\",\"id\":{}}}",
                        kind.as_str(),
                        serde_json::to_string(&id).map_err(DbError::Encode)?
                    ));
                }
            }
            cursor = seq;
        }
        json.push_str(&format!(
            "],\"cursor\":\"{cursor}\",\"has_more\":{has_more}"
        ));
        if let Some(remaining) = remaining {
            json.push_str(&format!(",\"remaining\":{remaining}"));
        }
        json.push('}');
        Ok(json)
    }

    /// The feed's rows after `after`: `limit` of them and one more, which tells whether
    /// another page follows without a second query.
    async fn change_rows(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ChangeRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT seq, kind, id, version, deleted, body FROM records
             WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(after)
        .bind(limit as i64 + 1)
        .fetch_all(self.pool())
        .await?)
    }

    /// How many entries of `tenant`'s change feed lie after `after`.
    pub async fn changes_after(&self, tenant: &TenantId, after: i64) -> Result<u64, DbError> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM records WHERE tenant_id = $1 AND seq > $2")
                .bind(tenant.as_str())
                .bind(after)
                .fetch_one(self.pool())
                .await?;
        Ok(count.unsigned_abs())
    }

    /// The newest sequence number of `tenant`, 0 before its first change.
    pub async fn last_seq(&self, tenant: &TenantId) -> Result<i64, DbError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT last_seq FROM tenants WHERE id = $1")
            .bind(tenant.as_str())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map_or(0, |(seq,)| seq))
    }

    /// Tells other hub instances that `tenant`'s feed reached `seq`. PostgreSQL delivers the
    /// notification at commit, in commit order, to every instance listening (this one too);
    /// SQLite has only this instance, which [`Self::ring`] tells directly.
    async fn announce(
        &self,
        transaction: &mut Transaction<'static, Any>,
        tenant: &TenantId,
        seq: i64,
    ) -> Result<(), DbError> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::live::CHANNEL)
                .bind(format!("{} {seq}", tenant.as_str()))
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    fn ring(&self, tenant: &TenantId, seq: i64) {
        if self.backend() == Backend::Sqlite {
            // Nobody listening is fine: the change is in the database for whoever asks later.
            let _ = self.bell().send(Bell {
                tenant: tenant.clone(),
                seq,
            });
        }
    }
}

/// One row of the change feed: sequence number, kind, id, version, whether deleted, body.
type ChangeRow = (i64, String, String, i64, i64, Option<String>);

/// Takes the next `count` sequence numbers of `tenant` and returns the first.
///
/// FIXME(hub-scale): on PostgreSQL this holds the tenant's row lock from here to commit, so one
/// tenant's writes are serial (about 800 a second on the 2-core bench machine, short of the
/// 1,000 target). A feed ordered by commit (a sequence plus a snapshot watermark, so that
/// readers never pass an uncommitted number) would let writes overlap.
async fn reserve_seqs(
    transaction: &mut Transaction<'static, Any>,
    tenant: &TenantId,
    count: i64,
) -> Result<i64, DbError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE tenants SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq",
    )
    .bind(tenant.as_str())
    .bind(count)
    .fetch_optional(&mut **transaction)
    .await?;
    match row {
        Some((last,)) => Ok(last - count + 1),
        None => Err(DbError::NoSuchTenant(tenant.to_string())),
    }
}

/// The answer stored under `key` (its request digest, status, version and body) and the live
/// record `id`, read together.
#[allow(clippy::type_complexity)]
async fn key_and_record(
    transaction: &mut Transaction<'static, Any>,
    tenant: &TenantId,
    key: Option<&IdempotencyKey>,
    id: &str,
) -> Result<(Option<(String, i64, i64, String)>, Option<Stored>), DbError> {
    let row: (
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT k.request_hash, k.status, k.version, k.response, r.body, r.version, r.seq
         FROM (SELECT 1 AS one) o
         LEFT JOIN idempotency_keys k ON k.tenant_id = $1 AND k.key = $2
         LEFT JOIN records r ON r.tenant_id = $1 AND r.id = $3 AND r.deleted = 0",
    )
    .bind(tenant.as_str())
    .bind(key.map(|key| key.key.as_str()).unwrap_or_default())
    .bind(id)
    .fetch_one(&mut **transaction)
    .await?;
    let (hash, status, key_version, response, body, version, seq) = row;
    let earlier = match (key, hash, status, key_version, response) {
        (Some(_), Some(hash), Some(status), Some(version), Some(response)) => {
            Some((hash, status, version, response))
        }
        _ => None,
    };
    let current = match (body, version, seq) {
        (Some(body), Some(version), Some(seq)) => Some(decode((body, version, seq))?),
        _ => None,
    };
    Ok((earlier, current))
}

/// Keeps the answer to a write under its idempotency key, for as long as the record lives.
async fn remember_answer(
    transaction: &mut Transaction<'static, Any>,
    tenant: &TenantId,
    id: &str,
    key: &IdempotencyKey,
    status: u16,
    version: u64,
    body: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO idempotency_keys
            (tenant_id, key, request_hash, record_id, status, version, response)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant.as_str())
    .bind(&key.key)
    .bind(&key.request_hash)
    .bind(id)
    .bind(i64::from(status))
    .bind(version as i64)
    .bind(body)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// On PostgreSQL, stores a record (not a customer, whose identities need statements of their
/// own), keeps the answer under its key and announces the change, in one statement: the
/// tenant's row is locked from the sequence number to the commit, and each round trip in
/// between would hold the tenant's other writers up.
async fn store_in_one(
    transaction: &mut Transaction<'static, Any>,
    tenant: &TenantId,
    record: &Record,
    version: u64,
    seq: i64,
    answer: Option<(&IdempotencyKey, u16, &str)>,
) -> Result<(), DbError> {
    let body = serde_json::to_string(record).map_err(DbError::Encode)?;
    sqlx::query(
        "WITH stored AS (
            INSERT INTO records
                (tenant_id, id, kind, customer_id, version, seq, deleted, body, sort_key,
                 search, state)
            VALUES ($1, $2, $3, $4, $5, $6, 0, $7, NULL, NULL, $8)
            ON CONFLICT (tenant_id, id) DO UPDATE SET
                kind = excluded.kind, customer_id = excluded.customer_id,
                version = excluded.version, seq = excluded.seq, deleted = 0,
                body = excluded.body, sort_key = NULL, search = NULL, state = excluded.state
            RETURNING seq
         ), kept AS (
            INSERT INTO idempotency_keys
                (tenant_id, key, request_hash, record_id, status, version, response)
            SELECT $1, $9::text, $10::text, $2, $11::bigint, $5, $12::text
            WHERE $9::text IS NOT NULL
            RETURNING 1
         )
         SELECT pg_notify($13, $14) FROM stored",
    )
    .bind(tenant.as_str())
    .bind(record.id())
    .bind(record.kind().as_str())
    .bind(record.customer_id().map(CustomerId::as_str))
    .bind(version as i64)
    .bind(seq)
    .bind(body)
    .bind(record.state_name())
    .bind(answer.map(|(key, _, _)| key.key.as_str()))
    .bind(answer.map(|(key, _, _)| key.request_hash.as_str()))
    .bind(answer.map(|(_, status, _)| i64::from(status)))
    .bind(answer.map(|(_, _, body)| body))
    .bind(crate::live::CHANNEL)
    .bind(format!("{} {seq}", tenant.as_str()))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn version_of(
    transaction: &mut Transaction<'static, Any>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<u64>, DbError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT version FROM records WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(&mut **transaction)
            .await?;
    Ok(row.map(|(version,)| version.unsigned_abs()))
}

async fn load(
    connection: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<Stored>, DbError> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT body, version, seq FROM records
         WHERE tenant_id = $1 AND id = $2 AND deleted = 0",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(connection)
    .await?;
    row.map(decode).transpose()
}

/// Stores `record` at `version` and `seq`, keeping the identity index and the search columns
/// of customers current.
async fn upsert(
    transaction: &mut Transaction<'static, Any>,
    tenant: &TenantId,
    record: &Record,
    version: u64,
    seq: i64,
) -> Result<(), DbError> {
    let body = serde_json::to_string(record).map_err(DbError::Encode)?;
    let (sort_key, search) = customer_columns(record);
    sqlx::query(
        "INSERT INTO records
            (tenant_id, id, kind, customer_id, version, seq, deleted, body, sort_key, search,
             state)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
            kind = excluded.kind, customer_id = excluded.customer_id,
            version = excluded.version, seq = excluded.seq, deleted = 0, body = excluded.body,
            sort_key = excluded.sort_key, search = excluded.search, state = excluded.state",
    )
    .bind(tenant.as_str())
    .bind(record.id())
    .bind(record.kind().as_str())
    .bind(record.customer_id().map(CustomerId::as_str))
    .bind(version as i64)
    .bind(seq)
    .bind(body)
    .bind(sort_key)
    .bind(search)
    .bind(record.state_name())
    .execute(&mut **transaction)
    .await?;

    if let Record::Customer(customer) = record {
        sqlx::query("DELETE FROM identities WHERE tenant_id = $1 AND customer_id = $2")
            .bind(tenant.as_str())
            .bind(customer.id.as_str())
            .execute(&mut **transaction)
            .await?;
        for identity in &customer.identities {
            sqlx::query(
                "INSERT INTO identities (tenant_id, kind, value, customer_id)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(tenant.as_str())
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .bind(customer.id.as_str())
            .execute(&mut **transaction)
            .await?;
        }
    }
    Ok(())
}

fn decode((body, version, seq): (String, i64, i64)) -> Result<Stored, DbError> {
    Ok(Stored {
        record: serde_json::from_str(&body).map_err(DbError::Decode)?,
        version: version.unsigned_abs(),
        seq,
    })
}

fn decode_customer(body: &str) -> Result<Customer, DbError> {
    match serde_json::from_str(body).map_err(DbError::Decode)? {
        Record::Customer(customer) => Ok(customer),
        other => Err(DbError::Corrupt(format!(
            "record {} is indexed as a customer but is a {}",
            other.id(),
            other.kind().as_str()
        ))),
    }
}

/// The sort key and search text a record stores: set for customers, empty for the rest.
fn customer_columns(record: &Record) -> (Option<String>, Option<String>) {
    match record {
        Record::Customer(customer) => (
            Some(sort_key(&customer.display_name)),
            Some(search_text(customer)),
        ),
        _ => (None, None),
    }
}

/// The key customers are listed by: case-folded name, so that "de Vries" sorts among the Ds.
pub fn sort_key(display_name: &str) -> String {
    display_name.to_lowercase()
}

/// What a customer search looks through: name, company and every identity, case-folded.
fn search_text(customer: &Customer) -> String {
    let mut text = customer.display_name.to_lowercase();
    for part in customer
        .company
        .iter()
        .chain(customer.identities.iter().map(|identity| &identity.value))
    {
        text.push('\n');
        text.push_str(&part.to_lowercase());
    }
    text
}
