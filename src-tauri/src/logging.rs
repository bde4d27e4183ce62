//! Tracing to daily-rotated log files in the platform's log folder, where IT and support know to
//! look, and to standard error for whoever started the app from a terminal.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How many days of logs to keep; older files are deleted as new ones start.
const KEPT_LOG_FILES: usize = 14;

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("cannot create the log folder {path}: {source}; check its permissions")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open a log file in {path}: {source}")]
    Appender {
        path: String,
        source: tracing_appender::rolling::InitError,
    },
}

/// Starts logging into `log_dir`. Keep the returned guard for the life of the app: dropping it
/// flushes and stops the background writer.
pub fn init(log_dir: &Path) -> Result<WorkerGuard, LoggingError> {
    let path = log_dir.display().to_string();
    std::fs::create_dir_all(log_dir).map_err(|source| LoggingError::Folder {
        path: path.clone(),
        source,
    })?;

    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("switchboard")
        .filename_suffix("log")
        .max_log_files(KEPT_LOG_FILES)
        .build(log_dir)
        .map_err(|source| LoggingError::Appender { path, source })?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);

    let filter = EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| {
        EnvFilter::new("info,switchboard=debug,tao=warn,wry=warn,rsipstack=warn")
    });
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(file_writer);
    let stderr_layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);

    // A second init (in tests) finds a subscriber already set; that one keeps working.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    Ok(guard)
}
