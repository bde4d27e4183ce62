//! The phone behind a real registrar and proxy: kamailio on loopback with digest
//! authentication. The right password registers and a wrong one is refused; the registration
//! is refreshed before it lapses; and calls both ways go through the proxy, which challenges
//! them (407) and routes them to registered phones, over UDP and over TCP.

mod peers;

use std::sync::Arc;

use anyhow::Context;
use peers::{
    Account as PeerAccount, BARESIP_TONE, Baresip, Kamailio, PHONE_TONE, TestDevices, carries,
    ended, established, incoming, listen,
};
use switchboard_voice::call::EndReason;
use switchboard_voice::phone::{
    Account, Phone, PhoneError, PhoneEvent, PhoneSettings, Registered, Transport,
};

fn settings(
    kamailio: &Kamailio,
    password: &str,
    transport: Transport,
) -> anyhow::Result<PhoneSettings> {
    Ok(PhoneSettings {
        registrar: Some(kamailio.uri()),
        account: Some(Account {
            user: "agent".to_owned(),
            password: password.to_owned(),
        }),
        outbound_proxy: Some(kamailio.address),
        transport,
        ..PhoneSettings::direct("127.0.0.1:0".parse()?)
    })
}

const USERS: &[(&str, &str)] = &[("agent", "agentpw"), ("bob", "bobpw")];

#[tokio::test]
async fn the_right_password_registers_and_a_wrong_one_is_refused() -> anyhow::Result<()> {
    let kamailio = Kamailio::start(USERS)?;
    let devices = Arc::new(TestDevices::default());

    let phone = Phone::start(
        settings(&kamailio, "agentpw", Transport::Udp)?,
        devices.clone(),
    )
    .await?;
    let granted = phone
        .register()
        .await
        .context("the right password must register")?;
    assert!(
        granted > 0 && granted <= 300,
        "the registrar grants at most the expiry asked for, got {granted}"
    );

    let wrong = Phone::start(
        settings(&kamailio, "not-the-password", Transport::Udp)?,
        devices,
    )
    .await?;
    let mut events = wrong.events().context("the phone's events")?;
    let refused = wrong.register().await;
    assert!(
        matches!(refused, Err(PhoneError::Refused { status: 401 | 403 })),
        "a wrong password must be refused, not retried forever or taken: {refused:?}"
    );
    assert!(
        matches!(
            peers::next_event(&mut events).await?,
            PhoneEvent::Registration(Registered::Refused { .. })
        ),
        "the refusal is an event the window can show"
    );
    Ok(())
}

#[tokio::test]
async fn a_registration_is_refreshed_before_it_lapses() -> anyhow::Result<()> {
    let kamailio = Kamailio::start(USERS)?;
    let mut settings = settings(&kamailio, "agentpw", Transport::Udp)?;
    settings.register_expires = 4;
    let phone = Phone::start(settings, Arc::new(TestDevices::default())).await?;
    let mut events = phone.events().context("the phone's events")?;
    assert_eq!(
        phone.register().await?,
        4,
        "the registrar grants the short expiry"
    );
    assert_eq!(
        peers::next_event(&mut events).await?,
        PhoneEvent::Registration(Registered::Yes { expires: 4 })
    );
    assert_eq!(
        peers::next_event(&mut events).await?,
        PhoneEvent::Registration(Registered::Yes { expires: 4 }),
        "the phone registers again by itself, at three quarters of the expiry"
    );
    Ok(())
}

/// A call each way through the proxy, with audio checked both ways on the first.
async fn calls_through_the_proxy(transport: Transport) -> anyhow::Result<()> {
    let kamailio = match transport {
        Transport::Udp => Kamailio::start(USERS)?,
        // The proxy refuses the agent anything that does not come over TCP.
        Transport::Tcp => Kamailio::start_requiring_tcp_from(USERS, "agent")?,
    };
    let devices = TestDevices::default();
    let phone = Phone::start(
        settings(&kamailio, "agentpw", transport)?,
        Arc::new(devices.clone()),
    )
    .await?;
    let mut events = phone.events().context("the phone's events")?;
    phone.register().await?;
    let mut bob = Baresip::start(
        "bob",
        PeerAccount::Registered {
            registrar: kamailio.address,
            password: "bobpw",
            answermode: "auto",
        },
    )
    .await?;
    bob.event("REGISTER_OK").await?;

    // bob calls the agent by name; the proxy finds the agent's registration.
    bob.command("dial", &format!("sip:agent@{}", kamailio.address.ip()))
        .await?;
    let (call, caller) = incoming(&mut events).await?;
    assert_eq!(caller, "bob", "the proxy keeps the caller's identity");
    phone.answer(&call).await?;
    bob.event("CALL_ESTABLISHED").await?;
    established(&mut events).await?;
    let heard = listen(&devices.recording(&call)?, 1.5).await?;
    assert!(
        carries(&heard[4_000..], BARESIP_TONE),
        "audio reaches the agent on a proxied call"
    );
    phone.hang_up(&call).await?;
    bob.event("CALL_CLOSED").await?;
    assert_eq!(ended(&mut events).await?.1, EndReason::LocalHungUp);
    let bob_heard = bob.heard()?;
    assert!(
        bob_heard.len() > 8_000 && carries(&bob_heard[4_000..], PHONE_TONE),
        "audio reaches the caller on a proxied call"
    );

    // The agent calls bob by number alone; the proxy challenges the INVITE (407).
    let call = phone.dial("bob").await?;
    bob.event("CALL_ESTABLISHED").await?;
    assert_eq!(
        established(&mut events).await?,
        call,
        "the proxied call is answered"
    );
    bob.command("hangup", "").await?;
    bob.event("CALL_CLOSED").await?;
    let (id, reason, _) = ended(&mut events).await?;
    assert_eq!((id, reason), (call, EndReason::RemoteHungUp));

    // A desk that stops removes its registration: the proxy no longer knows the agent.
    phone.stop().await;
    bob.command("dial", &format!("sip:agent@{}", kamailio.address.ip()))
        .await?;
    let closed = bob.event("CALL_CLOSED").await?;
    assert!(
        closed["param"].as_str().unwrap_or_default().contains("404"),
        "a call to a stopped desk is not found, not sent to a dead address: {closed}"
    );
    Ok(())
}

#[tokio::test]
async fn calls_go_both_ways_through_the_proxy_over_udp() -> anyhow::Result<()> {
    calls_through_the_proxy(Transport::Udp).await
}

#[tokio::test]
async fn calls_go_both_ways_through_the_proxy_over_tcp() -> anyhow::Result<()> {
    calls_through_the_proxy(Transport::Tcp).await
}
