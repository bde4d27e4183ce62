//! The desktop's command line: only what IT and scripts need to point it somewhere.

use std::path::PathBuf;

/// Switchboard: calls, chats and the customer's record in one window.
#[derive(Debug, clap::Parser)]
#[command(name = "switchboard", version)]
pub struct Cli {
    /// The hub to talk to, such as http://hub.example:7300. Overrides the settings file and the
    /// SWITCHBOARD_HUB_URL environment variable.
    #[arg(long, value_name = "URL")]
    pub hub: Option<String>,

    /// Read settings from this file instead of the platform's configuration folder.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
}
