//! The engine against a real hub that starts, serves and stops: the status it publishes must
//! follow what actually happened to the hub.

use std::time::Duration;

use switchboard_engine::{Connectivity, Engine, ErrorCode, Settings};
use switchboard_hub::db::Database;
use switchboard_hub::{DEMO_LOGIN, DEMO_PASSWORD, HubState, base_url, seed_demo, serve};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[tokio::test]
async fn status_follows_the_hub_going_away() {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let db = Database::open_folder(data.path())
        .await
        .expect("a hub database");
    seed_demo(&db, 5, 12).await.expect("demo data seeds");
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = base_url(listener.local_addr().expect("a bound address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let hub = tokio::spawn(serve(listener, HubState::new(db, true, 64), async {
        let _ = stopped.await;
    }));

    let engine =
        Engine::new(Settings::resolve(None, None, Some(url.clone()))).expect("a valid hub address");
    assert_eq!(
        engine.status().connectivity,
        Connectivity::Connecting,
        "nothing probed yet"
    );

    engine.probe().await;
    let status = engine.status();
    assert_eq!(
        status.connectivity,
        Connectivity::Online,
        "a running hub is online"
    );
    assert!(status.demo, "the engine learns that the hub is a demo hub");
    let demo_login = status.demo_login.expect("a demo hub offers its login");
    assert_eq!(demo_login.login, DEMO_LOGIN, "the documented demo login");
    assert_eq!(status.agent, None, "nobody is signed in yet");

    let refused = engine
        .customers(None)
        .await
        .expect_err("the hub serves nobody anonymously");
    assert_eq!(
        refused.code(),
        ErrorCode::SignedOut,
        "the window is told to sign in"
    );
    let wrong = engine
        .sign_in(DEMO_LOGIN, "wrong")
        .await
        .expect_err("a wrong password is refused");
    assert_eq!(wrong.code(), ErrorCode::InvalidCredentials, "and said so");
    let signed_in = engine
        .sign_in(DEMO_LOGIN, DEMO_PASSWORD)
        .await
        .expect("the demo login works");
    assert_eq!(
        signed_in.agent.map(|agent| agent.login).as_deref(),
        Some(DEMO_LOGIN),
        "the status names who is signed in"
    );

    let customers = engine.customers(None).await.expect("the list loads");
    assert_eq!(customers.len(), 12, "every seeded customer is listed");
    let profile = engine
        .customer(&customers[0].id)
        .await
        .expect("a profile loads");
    assert_eq!(
        profile.id, customers[0].id,
        "the profile asked for is the one returned"
    );

    let mut changes = engine.subscribe();
    let _ = stop.send(());
    hub.await
        .expect("the hub task ends")
        .expect("the hub stops cleanly");

    let error = engine
        .customers(None)
        .await
        .expect_err("a stopped hub cannot list customers");
    assert_eq!(
        error.code(),
        ErrorCode::HubUnreachable,
        "the window is told the hub is gone"
    );
    engine.probe().await;

    // The status is published on a channel; wait for the change rather than polling a clock.
    let offline = tokio::time::timeout(
        Duration::from_secs(10),
        changes.wait_for(|status| status.connectivity == Connectivity::Offline),
    )
    .await
    .expect("offline is published promptly")
    .expect("the engine is alive")
    .clone();
    assert!(offline.detail.is_some(), "an offline status says why");
}
