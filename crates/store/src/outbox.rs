//! The outbox: every agent write is one transaction that changes the shown record and appends
//! an outbox row, acknowledged only once committed (on the `synchronous=FULL` connection).
//! The sync engine then sends the rows and reports what the hub made of each; every row ends
//! accepted, in conflict (with both versions kept), parked (with the hub's words), or
//! discarded by the agent. Nothing is dropped on its own.
//!
//! Per record, rows go out one at a time in the order they were made: only the oldest
//! unfinished row of a record is ever ready. A row that refers to another record (a wrap-up to
//! its call) also waits for that record's older rows, so the hub never hears of a reference
//! before the record it names. An edit's `If-Match` is the version the agent saw:
//! for the first unsent edit of a record the version shown then, for later ones the version
//! the hub gave the edit before it.

use rand::Rng;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use switchboard_model::{AgentId, Record, RecordKind};

use crate::action::{Action, Actor, Method};
use crate::records::{self, Cached};
use crate::{Store, StoreError, now_ms};

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    /// Waiting to be sent, or to be sent again.
    Pending,
    /// The hub holds a newer version than the one the edit was based on; the agent chooses.
    Conflict,
    /// The hub refused the request as it is; the agent retries or discards it.
    Parked,
    /// The hub has it.
    Accepted,
    /// The agent gave it up.
    Discarded,
}

impl OpState {
    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Pending => "pending",
            OpState::Conflict => "conflict",
            OpState::Parked => "parked",
            OpState::Accepted => "accepted",
            OpState::Discarded => "discarded",
        }
    }

    fn parse(text: &str) -> OpState {
        match text {
            "conflict" => OpState::Conflict,
            "parked" => OpState::Parked,
            "accepted" => OpState::Accepted,
            "discarded" => OpState::Discarded,
            _ => OpState::Pending,
        }
    }

    /// Whether the row still waits for the hub or for the agent.
    pub fn is_unfinished(self) -> bool {
        matches!(self, OpState::Pending | OpState::Conflict | OpState::Parked)
    }
}

/// The states that hold a record's later rows back.
const UNFINISHED: &str = "('pending', 'conflict', 'parked')";

/// Which rows `o` may go now as far as order goes: none of its record's older rows is
/// unfinished, and none of the older rows of the record it needs at the hub first either.
const HEAD_OF_ITS_RECORD: &str =
    "NOT EXISTS (SELECT 1 FROM outbox p WHERE p.record_id = o.record_id
                               AND p.seq < o.seq AND p.state IN ('pending', 'conflict', 'parked'))
       AND (o.after_record IS NULL OR NOT EXISTS (SELECT 1 FROM outbox d
                               WHERE d.record_id = o.after_record AND d.seq < o.seq
                               AND d.state IN ('pending', 'conflict', 'parked')))";

/// What the cache said when it took an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    /// The outbox row's id, also the `Idempotency-Key` of every attempt to send it.
    pub op_id: String,
    /// The record as the window now shows it.
    pub record: Record,
}

/// An outbox row ready to go to the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub op_id: String,
    pub seq: i64,
    pub record_id: String,
    /// The kind of the record, which the hub's answer (the bare record) does not repeat.
    pub record_kind: RecordKind,
    pub method: Method,
    pub path: String,
    pub body: String,
    /// The version to send in `If-Match`, when the request needs one.
    pub if_match: Option<u64>,
    /// How many times sending it has failed so far.
    pub attempts: u32,
    /// When the agent made it, in milliseconds since the epoch.
    pub created_at: i64,
}

/// What the hub made of one attempt to send an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The hub has it: the record as it now stands there.
    Accepted { version: u64, record: Record },
    /// Nothing is known to have happened; send it again, not before `not_before` (ms).
    Retry { not_before: i64, error: String },
    /// The record moved on at the hub; `theirs` is how it stands there now.
    Conflict {
        version: u64,
        theirs: Record,
        message: String,
    },
    /// The hub refused it as it is (a 4xx); sending it again unchanged would fail again.
    Parked { status: u16, message: String },
}

/// How many rows wait, and since when: what the window shows beside the connectivity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Outbox {
    pub pending: u32,
    pub conflicts: u32,
    pub parked: u32,
    /// When the oldest unfinished row was made, in milliseconds since the epoch.
    pub oldest_at: Option<i64>,
}

/// One row, for the window's list of writes that need the agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutboxEntry {
    pub op_id: String,
    pub state: OpState,
    pub action: String,
    pub record_id: String,
    pub record_kind: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: i64,
    /// For a conflict: the hub's record as it stands, and its version.
    pub theirs: Option<Record>,
    pub theirs_version: Option<u64>,
    /// For an accepted row: the version the hub gave the record with it.
    pub hub_version: Option<u64>,
}

/// The hub's state of a record the agent has unsent changes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    pub version: u64,
    pub record: Option<Record>,
}

impl Store {
    /// Takes an action: changes the shown record and queues the write for the hub, in one
    /// durable transaction. When this returns, the action survives a crash.
    pub fn act(&self, mut action: Action, actor: &Actor) -> Result<Acted, StoreError> {
        action.assign_id(fresh_id);
        action.validate()?;
        let (kind, id) = action.target();
        let id = id.to_owned();
        let request = action.request();

        let mut connection = self.outbox_connection()?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = records::load(&transaction, &id)?;
        let related = match action.related() {
            Some(related) => records::load(&transaction, related)?,
            None => None,
        };
        let record = action.apply(
            current.as_ref().map(|cached| &cached.record),
            related.as_ref().map(|cached| &cached.record),
            actor,
        )?;
        if action.creates() && current.is_some() {
            return Err(crate::ActionError::Unknown {
                what: "new record id",
                id,
            }
            .into());
        }

        // The first unsent change to a record keeps the hub's state it was made on, so that
        // later pulls can be laid under the agent's changes instead of over them.
        let chained = base(&transaction, &id)?.is_some();
        if !chained {
            set_base(
                &transaction,
                &id,
                kind.as_str(),
                current.as_ref().map_or(0, |cached| cached.version),
                current.as_ref(),
            )?;
        }
        let if_match = match (request.needs_if_match, chained, &current) {
            (true, false, Some(cached)) => Some(cached.version as i64),
            _ => None,
        };

        let version = current.as_ref().map_or(0, |cached| cached.version);
        records::put(&transaction, &record, version, current.is_some())?;

        let op_id = format!("op-{}", fresh_hex());
        transaction
            .prepare_cached(
                "INSERT INTO outbox (op_id, record_id, record_kind, action, actor, made_at,
                    method, path, body, needs_if_match, if_match, state, created_at, after_record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12, ?13)",
            )?
            .execute(params![
                op_id,
                id,
                kind.as_str(),
                serde_json::to_string(&action)?,
                actor.agent.as_str(),
                actor.now,
                request.method.as_str(),
                request.path,
                request.body,
                request.needs_if_match,
                if_match,
                now_ms(),
                action.after(),
            ])?;
        transaction.commit()?;
        tracing::debug!(op_id, action = action.name(), record = %id, "write queued");
        Ok(Acted { op_id, record })
    }

    /// Whether record `id` has writes the hub has not accepted yet.
    pub fn has_unsent(&self, id: &str) -> Result<bool, StoreError> {
        let connection = self.outbox_connection()?;
        Ok(unfinished_of(&connection, id)? > 0)
    }

    /// The rows ready to send at `now` (ms): the oldest unfinished row of each record, when it
    /// is pending, its back-off has passed and the record it needs at the hub first has no
    /// older unfinished rows; oldest first, at most `limit`.
    pub fn ready(&self, now: i64, limit: usize) -> Result<Vec<Operation>, StoreError> {
        let connection = self.outbox_connection()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT o.op_id, o.seq, o.record_id, o.method, o.path, o.body, o.if_match,
                    o.attempts, o.created_at, o.record_kind
             FROM outbox o
             WHERE o.state = 'pending' AND o.not_before <= ?1 AND {HEAD_OF_ITS_RECORD}
             ORDER BY o.seq LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![now, limit as i64], |row| {
            let kind: String = row.get(9)?;
            let record_kind = RecordKind::parse(&kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    9,
                    rusqlite::types::Type::Text,
                    format!("unknown record kind {kind:?}").into(),
                )
            })?;
            Ok(Operation {
                op_id: row.get(0)?,
                seq: row.get(1)?,
                record_id: row.get(2)?,
                record_kind,
                method: Method::parse(&row.get::<_, String>(3)?).unwrap_or(Method::Post),
                path: row.get(4)?,
                body: row.get(5)?,
                if_match: row.get::<_, Option<i64>>(6)?.map(i64::unsigned_abs),
                attempts: row.get(7)?,
                created_at: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next row may go: the earliest back-off among the rows at the head of their
    /// record. Rows behind another of their record's rows do not count, since they cannot go
    /// before it whatever the clock says.
    pub fn next_due(&self) -> Result<Option<i64>, StoreError> {
        let connection = self.outbox_connection()?;
        Ok(connection
            .prepare_cached(&format!(
                "SELECT MIN(o.not_before) FROM outbox o
                 WHERE o.state = 'pending' AND {HEAD_OF_ITS_RECORD}"
            ))?
            .query_row([], |row| row.get(0))?)
    }

    /// Records what the hub made of an attempt to send `op_id`. An outcome for a row that is
    /// no longer pending (a late answer to an attempt the desk had already given up on) changes
    /// nothing.
    pub fn finish(&self, op_id: &str, outcome: Outcome) -> Result<(), StoreError> {
        let mut connection = self.outbox_connection()?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some((record_id, kind, state)) = row_of(&transaction, op_id)? else {
            return Err(StoreError::NoSuchOperation(op_id.to_owned()));
        };
        if state != OpState::Pending {
            tracing::debug!(op_id, state = state.as_str(), "late outcome ignored");
            return Ok(());
        }

        match outcome {
            Outcome::Accepted { version, record } => {
                transaction
                    .prepare_cached(
                        "UPDATE outbox SET state = 'accepted', finished_at = ?2, hub_version = ?3,
                            last_error = NULL WHERE op_id = ?1",
                    )?
                    .execute(params![op_id, now_ms(), version as i64])?;
                // A pull may already have brought a state newer than this answer (a retry's
                // answer is the one first given); the newest state wins.
                let newer =
                    base(&transaction, &record_id)?.is_none_or(|base| version > base.version);
                if newer {
                    let cached = Cached { record, version };
                    set_base(&transaction, &record_id, &kind, version, Some(&cached))?;
                }
                chain_next(&transaction, &record_id, version)?;
                settle(&transaction, &record_id)?;
            }
            Outcome::Retry { not_before, error } => {
                transaction
                    .prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, not_before = ?2,
                            last_error = ?3 WHERE op_id = ?1",
                    )?
                    .execute(params![op_id, not_before, error])?;
            }
            Outcome::Conflict {
                version,
                theirs,
                message,
            } => {
                transaction
                    .prepare_cached(
                        "UPDATE outbox SET state = 'conflict', theirs = ?2, theirs_version = ?3,
                            last_error = ?4, hub_status = 412 WHERE op_id = ?1",
                    )?
                    .execute(params![
                        op_id,
                        serde_json::to_string(&theirs)?,
                        version as i64,
                        message
                    ])?;
                if base(&transaction, &record_id)?.is_none_or(|base| version > base.version) {
                    let cached = Cached {
                        record: theirs,
                        version,
                    };
                    set_base(&transaction, &record_id, &kind, version, Some(&cached))?;
                    rebase(&transaction, &record_id)?;
                }
            }
            Outcome::Parked { status, message } => {
                transaction
                    .prepare_cached(
                        "UPDATE outbox SET state = 'parked', hub_status = ?2, last_error = ?3
                         WHERE op_id = ?1",
                    )?
                    .execute(params![op_id, status, message])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Resolves a conflict by sending the agent's change again on top of the hub's version.
    pub fn keep_mine(&self, op_id: &str) -> Result<(), StoreError> {
        self.resolve(op_id, OpState::Conflict, "kept", |transaction, _, _| {
            transaction
                .prepare_cached(
                    "UPDATE outbox SET state = 'pending', if_match = theirs_version, attempts = 0,
                        not_before = 0, last_error = NULL WHERE op_id = ?1",
                )?
                .execute([op_id])?;
            Ok(())
        })
    }

    /// Resolves a conflict by giving up the agent's change for the hub's version.
    pub fn take_theirs(&self, op_id: &str) -> Result<(), StoreError> {
        self.resolve(op_id, OpState::Conflict, "given up", give_up)
    }

    /// Sends a parked row again, for when its cause has gone (an agent that now exists, a
    /// permission granted).
    pub fn retry_parked(&self, op_id: &str) -> Result<(), StoreError> {
        self.resolve(op_id, OpState::Parked, "retried", |transaction, _, _| {
            transaction
                .prepare_cached(
                    "UPDATE outbox SET state = 'pending', attempts = 0, not_before = 0
                     WHERE op_id = ?1",
                )?
                .execute([op_id])?;
            Ok(())
        })
    }

    /// Gives up a parked row.
    pub fn discard_parked(&self, op_id: &str) -> Result<(), StoreError> {
        self.resolve(op_id, OpState::Parked, "discarded", give_up)
    }

    fn resolve(
        &self,
        op_id: &str,
        from: OpState,
        wanted: &'static str,
        change: impl FnOnce(&Connection, &str, &str) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut connection = self.outbox_connection()?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some((record_id, _, state)) = row_of(&transaction, op_id)? else {
            return Err(StoreError::NoSuchOperation(op_id.to_owned()));
        };
        if state != from {
            return Err(StoreError::WrongState {
                op_id: op_id.to_owned(),
                state: state.as_str().to_owned(),
                wanted,
            });
        }
        change(&transaction, op_id, &record_id)?;
        transaction.commit()?;
        tracing::info!(op_id, record = %record_id, resolution = wanted, "outbox row resolved");
        Ok(())
    }

    /// How many rows wait, and the oldest.
    pub fn outbox(&self) -> Result<Outbox, StoreError> {
        let connection = self.outbox_connection()?;
        let mut statement = connection.prepare_cached(&format!(
            "SELECT state, COUNT(*), MIN(created_at) FROM outbox WHERE state IN {UNFINISHED}
             GROUP BY state"
        ))?;
        let mut summary = Outbox::default();
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (state, count, oldest) = row?;
            match OpState::parse(&state) {
                OpState::Conflict => summary.conflicts = count,
                OpState::Parked => summary.parked = count,
                _ => summary.pending = count,
            }
            summary.oldest_at = Some(summary.oldest_at.map_or(oldest, |at| at.min(oldest)));
        }
        Ok(summary)
    }

    /// Every row, or only those in `states`, oldest first.
    pub fn entries(&self, states: &[OpState]) -> Result<Vec<OutboxEntry>, StoreError> {
        let connection = self.outbox_connection()?;
        let mut statement = connection.prepare_cached(
            "SELECT op_id, state, action, record_id, record_kind, attempts, last_error,
                    created_at, theirs, theirs_version, hub_version
             FROM outbox ORDER BY seq",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, u32>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, i64>(7)?,
                row.get::<_, Option<String>>(8)?,
                row.get::<_, Option<i64>>(9)?,
                row.get::<_, Option<i64>>(10)?,
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (
                op_id,
                state,
                action,
                record_id,
                record_kind,
                attempts,
                last_error,
                created_at,
                theirs,
                theirs_version,
                hub_version,
            ) = row?;
            let state = OpState::parse(&state);
            if !states.is_empty() && !states.contains(&state) {
                continue;
            }
            let action: Action = serde_json::from_str(&action)?;
            entries.push(OutboxEntry {
                op_id,
                state,
                action: action.name().to_owned(),
                record_id,
                record_kind,
                attempts,
                last_error,
                created_at,
                theirs: theirs.map(|body| serde_json::from_str(&body)).transpose()?,
                theirs_version: theirs_version.map(i64::unsigned_abs),
                hub_version: hub_version.map(i64::unsigned_abs),
            });
        }
        Ok(entries)
    }

    /// The state of row `op_id`, if the outbox holds it.
    pub fn op_state(&self, op_id: &str) -> Result<Option<OpState>, StoreError> {
        let connection = self.outbox_connection()?;
        Ok(row_of(&connection, op_id)?.map(|(_, _, state)| state))
    }

    /// Forgets accepted and discarded rows finished before `before` (ms); they are history,
    /// and the hub has the accepted ones.
    pub fn purge_finished(&self, before: i64) -> Result<usize, StoreError> {
        let connection = self.outbox_connection()?;
        Ok(connection
            .prepare_cached(
                "DELETE FROM outbox WHERE state IN ('accepted', 'discarded') AND finished_at < ?1",
            )?
            .execute([before])?)
    }
}

/// Marks a conflict or a parked row given up, and lets the record's next row go.
fn give_up(transaction: &Connection, op_id: &str, record_id: &str) -> Result<(), StoreError> {
    transaction
        .prepare_cached("UPDATE outbox SET state = 'discarded', finished_at = ?2 WHERE op_id = ?1")?
        .execute(params![op_id, now_ms()])?;
    // The next edit was made on top of the change given up; the nearest truth is the hub's
    // version, and a conflict will say so if that is not what the agent meant.
    if let Some(base) = base(transaction, record_id)? {
        chain_next(transaction, record_id, base.version)?;
    }
    settle(transaction, record_id)
}

/// Gives the record's next unfinished row the version to send in `If-Match`, if it needs one
/// and has none yet.
fn chain_next(transaction: &Connection, record_id: &str, version: u64) -> Result<(), StoreError> {
    transaction
        .prepare_cached(&format!(
            "UPDATE outbox SET if_match = ?2
             WHERE seq = (SELECT MIN(seq) FROM outbox WHERE record_id = ?1
                          AND state IN {UNFINISHED})
               AND needs_if_match = 1 AND if_match IS NULL"
        ))?
        .execute(params![record_id, version as i64])?;
    Ok(())
}

/// After a row of `record_id` finished: when none is left unfinished, the hub's state is what
/// the window shows and the base goes; otherwise the rest are laid over the base again.
fn settle(transaction: &Connection, record_id: &str) -> Result<(), StoreError> {
    if unfinished_of(transaction, record_id)? > 0 {
        return rebase(transaction, record_id);
    }
    if let Some(base) = base(transaction, record_id)? {
        match &base.record {
            Some(record) => {
                let existed = records::version(transaction, record_id)?.is_some();
                records::put(transaction, record, base.version, existed)?;
            }
            None => records::remove(transaction, record_id)?,
        }
    }
    transaction
        .prepare_cached("DELETE FROM bases WHERE id = ?1")?
        .execute([record_id])?;
    Ok(())
}

/// Lays the unfinished actions on `record_id` over its base again and stores the result as
/// shown. An action that no longer applies (its record is gone at the hub) is left out; the
/// hub will refuse it too, and its row will be parked with the reason.
pub(crate) fn rebase(transaction: &Connection, record_id: &str) -> Result<(), StoreError> {
    let Some(base) = base(transaction, record_id)? else {
        return Ok(());
    };
    let mut statement = transaction.prepare_cached(&format!(
        "SELECT action, actor, made_at FROM outbox WHERE record_id = ?1 AND state IN {UNFINISHED}
         ORDER BY seq"
    ))?;
    let actions = statement
        .query_map([record_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut shown = base.record.clone();
    for (action, agent, made_at) in actions {
        let action: Action = serde_json::from_str(&action)?;
        let related = match action.related() {
            Some(related) => records::load(transaction, related)?.map(|cached| cached.record),
            None => None,
        };
        let actor = Actor {
            agent: AgentId(agent),
            now: made_at,
        };
        if let Ok(record) = action.apply(shown.as_ref(), related.as_ref(), &actor) {
            shown = Some(record);
        }
    }

    let existed = records::version(transaction, record_id)?.is_some();
    match shown {
        Some(record) => records::put(transaction, &record, base.version, existed),
        None => records::remove(transaction, record_id),
    }
}

/// The base of `record_id`, when it has unsent changes.
pub(crate) fn base(connection: &Connection, record_id: &str) -> Result<Option<Base>, StoreError> {
    let row: Option<(i64, Option<String>)> = connection
        .prepare_cached("SELECT version, body FROM bases WHERE id = ?1")?
        .query_row([record_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(version, body)| {
        Ok(Base {
            version: version.unsigned_abs(),
            record: body.map(|body| serde_json::from_str(&body)).transpose()?,
        })
    })
    .transpose()
}

/// Whether any record has unsent changes.
pub(crate) fn has_bases(connection: &Connection) -> Result<bool, StoreError> {
    Ok(connection
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM bases)")?
        .query_row([], |row| row.get(0))?)
}

/// Stores the hub's state of `record_id` under its unsent changes: `cached`, or none.
pub(crate) fn set_base(
    connection: &Connection,
    record_id: &str,
    kind: &str,
    version: u64,
    cached: Option<&Cached>,
) -> Result<(), StoreError> {
    let body = cached
        .map(|cached| serde_json::to_string(&cached.record))
        .transpose()?;
    connection
        .prepare_cached(
            "INSERT INTO bases (id, kind, version, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body",
        )?
        .execute(params![record_id, kind, version as i64, body])?;
    Ok(())
}

/// How many rows are unfinished, over all records.
pub(crate) fn unfinished_count(connection: &Connection) -> Result<u64, StoreError> {
    let count: i64 = connection.query_row(
        &format!("SELECT COUNT(*) FROM outbox WHERE state IN {UNFINISHED}"),
        [],
        |row| row.get(0),
    )?;
    Ok(count.unsigned_abs())
}

fn unfinished_of(connection: &Connection, record_id: &str) -> Result<u64, StoreError> {
    let count: i64 = connection
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM outbox WHERE record_id = ?1 AND state IN {UNFINISHED}"
        ))?
        .query_row([record_id], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

fn row_of(
    connection: &Connection,
    op_id: &str,
) -> Result<Option<(String, String, OpState)>, StoreError> {
    let row: Option<(String, String, String)> = connection
        .prepare_cached("SELECT record_id, record_kind, state FROM outbox WHERE op_id = ?1")?
        .query_row([op_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    Ok(row.map(|(record, kind, state)| (record, kind, OpState::parse(&state))))
}

/// A fresh id for a record made on this desk, with the kind's prefix: random, so that desks
/// offline at the same moment cannot pick the same one.
fn fresh_id(prefix: &str) -> String {
    format!("{prefix}_{}", fresh_hex())
}

fn fresh_hex() -> String {
    let mut rng = rand::rng();
    format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>())
}
