//! The records that Switchboard's desktop and hub exchange, and nothing that does I/O.
//!
//! Every type here is plain data with serde derives. The desktop derives TypeScript bindings from
//! them (feature `specta`) and the hub derives its OpenAPI schemas (feature `openapi`), so a
//! field renamed here is renamed in the REST contract and in the web view at once.

mod customer;
mod health;
mod page;

pub use customer::{Customer, CustomerId, CustomerSummary, Identity, IdentityKind};
pub use health::{Health, HealthStatus};
pub use page::{Cursor, Page};
