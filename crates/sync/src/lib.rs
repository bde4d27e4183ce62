//! `switchboard-sync`: keeps the desk's cache and the hub in step. Pulls come from the hub's
//! change feed (from zero, with progress) and then its live event stream, polling the feed
//! when the stream is down; pushes replay the outbox in order per record, exactly once, with
//! the operation id as `Idempotency-Key`.
//!
//! Layout: [`engine`] runs the steps and the loops; [`answer`] decides what each answer to a
//! write means; [`backoff`] schedules retries; [`sse`] reads the event stream; [`hub`] is the
//! engine's view of the hub; [`status`] is what the window shows.

pub mod answer;
pub mod backoff;
pub mod engine;
pub mod hub;
pub mod sse;
pub mod status;

pub use backoff::Backoff;
pub use engine::{Clock, Pulled, Pushed, SyncConfig, SyncEngine, SyncError, SystemClock};
pub use hub::{Events, Hub};
pub use status::{Connectivity, Progress, SyncStatus};
