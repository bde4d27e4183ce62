//! Waiting for conditions with a deadline, instead of sleeping for a guessed time.

use std::time::{Duration, Instant};

/// Checks `condition` until it returns `Some`, or fails with `what` after `limit`. The pause
/// between checks is short and only paces the polling; correctness never depends on it.
pub fn until<T>(
    what: &str,
    limit: Duration,
    mut condition: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = condition() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            anyhow::bail!("gave up after {limit:?} waiting for {what}");
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// The async twin of [`until`].
pub async fn until_async<T, F, Fut>(
    what: &str,
    limit: Duration,
    mut condition: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = condition().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("gave up after {limit:?} waiting for {what}");
        }
        tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_millis(100)).await;
    }
}

/// Whether something accepts TCP connections on `port` at 127.0.0.1.
pub fn port_open(port: u16) -> bool {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}
