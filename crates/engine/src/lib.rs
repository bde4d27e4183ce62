//! The agent session runtime, free of any window toolkit: it owns the settings, the link to the
//! hub and its connectivity, and answers the questions the window asks.
//!
//! Layout: [`settings`] resolves where the hub is; [`connectivity`] is the pure state machine
//! that turns health probes into online, degraded or offline; [`session`] ties them to a hub
//! client and publishes [`HubStatus`] changes; [`phone_settings`] reads the softphone's part of
//! the settings file; [`calls`] runs the desk's phone and folds its events into the calls the
//! window shows; [`cache`] opens the signed-in agent's cache and runs its sync; [`work`] logs the
//! agent's calls, follows their state and writes wrap-ups, through the cache's outbox;
//! [`writes`] lists the writes the hub did not take and carries out the agent's decisions.

pub mod alerts;
pub mod cache;
pub mod calls;
pub mod connectivity;
mod error;
pub mod phone_settings;
mod session;
pub mod settings;
pub mod work;
pub mod writes;

pub use connectivity::Connectivity;
pub use error::{EngineError, ErrorCode};
pub use session::{Engine, HubStatus, SignedInAgent};
pub use settings::{Settings, SettingsSource};
