//! The client against a real hub served in-process on a loopback port.

use std::time::Duration;

use switchboard_client::{ClientError, HubClient};
use switchboard_hub::db::Database;
use switchboard_hub::{DEMO_LOGIN, DEMO_PASSWORD, HubState, base_url, seed_demo, serve};
use switchboard_model::{CustomerId, HealthStatus, IdentityKind};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct ServedHub {
    url: String,
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl ServedHub {
    async fn start(customers: usize) -> ServedHub {
        let data = tempfile::tempdir().expect("a temporary data folder");
        let db = Database::open_folder(data.path())
            .await
            .expect("a hub database");
        seed_demo(&db, 11, customers)
            .await
            .expect("demo data seeds");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = base_url(listener.local_addr().expect("a bound address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let state = HubState::new(db, true, 64);
        let task = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        ServedHub {
            url,
            _data: data,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = (&mut self.task).await.expect("the hub task does not panic");
        served.expect("the hub shuts down cleanly");
    }
}

#[tokio::test]
async fn lists_searches_and_fetches_customers() {
    let hub = ServedHub::start(25).await;
    let client = HubClient::new(&hub.url, Duration::from_secs(5)).expect("a valid URL");
    client
        .sign_in(DEMO_LOGIN, DEMO_PASSWORD)
        .await
        .expect("the demo agent signs in");

    let health = client
        .health()
        .await
        .expect("a running hub answers its health check");
    assert_eq!(
        health.status,
        HealthStatus::Ok,
        "an in-memory hub is healthy"
    );

    let first = client
        .customers(None, 10, None)
        .await
        .expect("the list is served");
    assert_eq!(first.items.len(), 10, "a full first page");
    let cursor = first
        .next
        .as_ref()
        .expect("25 customers need more than one page of 10");
    let second = client
        .customers(None, 10, Some(&cursor.0))
        .await
        .expect("page two is served");
    assert!(
        second.items.iter().all(|c| !first.items.contains(c)),
        "the second page does not repeat the first"
    );

    let someone = &first.items[3];
    let phone = someone
        .primary_phone
        .clone()
        .expect("demo customers have phones");
    let found = client
        .customers(Some(&phone), 10, None)
        .await
        .expect("search works");
    assert!(
        found.items.iter().any(|c| c.id == someone.id),
        "searching by a customer's number finds them"
    );

    let popped = client
        .customers_by_identity(IdentityKind::Phone, &phone)
        .await
        .expect("an identity lookup is served");
    assert!(
        popped.iter().any(|c| c.id == someone.id),
        "a caller's number pops the customer it belongs to"
    );

    let profile = client
        .customer(&someone.id)
        .await
        .expect("a listed customer can be fetched");
    assert_eq!(
        profile.display_name, someone.display_name,
        "the profile matches the list"
    );

    let missing = client.customer(&CustomerId("cus_nobody".to_owned())).await;
    assert!(
        matches!(&missing, Err(error) if error.is_not_found()),
        "an unknown id is reported as not found, got {missing:?}"
    );

    hub.stop().await;
}

#[tokio::test]
async fn a_stopped_hub_is_reported_unreachable() {
    let hub = ServedHub::start(1).await;
    let client = HubClient::new(&hub.url, Duration::from_secs(5)).expect("a valid URL");
    client.health().await.expect("reachable while it runs");

    hub.stop().await;

    let error = client
        .health()
        .await
        .expect_err("a stopped hub cannot answer");
    assert!(
        error.is_unreachable(),
        "a refused connection means unreachable, got {error:?}"
    );
    assert!(
        error.is_retryable(),
        "an unreachable hub is worth retrying later"
    );
    assert!(
        matches!(error, ClientError::Unreachable { ref reason, .. } if !reason.is_empty()),
        "the reason names the cause"
    );
}

#[tokio::test]
async fn requests_carry_the_token_of_the_signed_in_agent_until_sign_out() {
    let hub = ServedHub::start(3).await;
    let client = HubClient::new(&hub.url, Duration::from_secs(5)).expect("a valid URL");

    let anonymous = client.customers(None, 10, None).await;
    assert!(
        matches!(&anonymous, Err(error) if error.is_unauthenticated()),
        "without a login the hub asks for one, got {anonymous:?}"
    );
    let wrong = client.sign_in(DEMO_LOGIN, "not the password").await;
    assert!(
        matches!(&wrong, Err(error) if error.is_unauthenticated() && !error.is_retryable()),
        "a wrong password is a refusal that retrying does not fix, got {wrong:?}"
    );
    assert_eq!(
        client.token(),
        None,
        "a failed login leaves no token behind"
    );

    let answer = client
        .sign_in(DEMO_LOGIN, DEMO_PASSWORD)
        .await
        .expect("the demo login works");
    assert_eq!(answer.agent.login, DEMO_LOGIN, "the answer names the agent");
    let page = client
        .customers(None, 10, None)
        .await
        .expect("signed in, the list is served");
    assert_eq!(page.items.len(), 3, "every customer of the tenant");

    let copy = client.clone();
    client.sign_out().await.expect("sign-out reaches the hub");
    assert_eq!(copy.token(), None, "clones share the sign-in, and its end");
    let revoked = HubClient::new(&hub.url, Duration::from_secs(5)).expect("a valid URL");
    revoked.set_token(Some(answer.token));
    let after = revoked.customers(None, 10, None).await;
    assert!(
        matches!(&after, Err(error) if error.is_unauthenticated()),
        "the hub no longer accepts the old token, got {after:?}"
    );

    hub.stop().await;
}
