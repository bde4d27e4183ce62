//! What can go wrong in the cache, said so that the agent or the desk's IT knows what to do.

use crate::action::ActionError;
use crate::identity::IdentityError;

/// Why the cache could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the desk's cache at {path}: {source}; check that the folder exists and may be written"
    )]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "the desk's cache was written by a newer Switchboard (schema {found}, this one knows {known}); update Switchboard or remove the cache to sync it again"
    )]
    TooNew { found: i64, known: i64 },
    #[error("the desk's cache failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("a cached record could not be read ({0}); remove the cache to sync it again")]
    Decode(#[from] serde_json::Error),
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("outbox entry {0} does not exist")]
    NoSuchOperation(String),
    #[error("outbox entry {op_id} is {state}, so it cannot be {wanted}")]
    WrongState {
        op_id: String,
        state: String,
        wanted: &'static str,
    },
    #[error(
        "the cache holds {unsent} write(s) for the hub at {hub} that it has not accepted yet; connect to that hub again so that they are sent before this desk moves"
    )]
    OtherOrigin { hub: String, unsent: u64 },
    #[error("the cache holds a cursor it cannot read: {0:?}")]
    BadCursor(String),
    #[error(
        "the desk's cache is still being filled by its first sync; the customer's file is shown from the hub until it is done"
    )]
    Filling,
    #[error("cannot start the cache's background thread: {0}; the machine may be out of memory")]
    Thread(String),
    #[error("the cache's lock was poisoned by a crash in another thread; restart Switchboard")]
    Poisoned,
}

impl StoreError {
    /// Whether the error is the agent's input rather than the cache failing.
    pub fn is_invalid_action(&self) -> bool {
        matches!(self, StoreError::Action(_) | StoreError::Identity(_))
    }
}
