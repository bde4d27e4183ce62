//! The softphone in the real window: another phone calls the desk over loopback, the window
//! shows the ringing call, the agent answers with a click, the web view is reloaded in the
//! middle of the call and the call goes on untouched (the phone is Rust's, not the web view's),
//! the agent mutes with the keyboard alone, and hangs up with a click.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fantoccini::{Client, Locator};
use switchboard_tests::display::VirtualDisplay;
use switchboard_tests::driver::{Driver, app_binary};
use switchboard_tests::{artifacts_dir, wait};
use switchboard_voice::audio::FileDevices;
use switchboard_voice::call::{CallEvent, EndReason};
use switchboard_voice::phone::{Phone, PhoneEvent, PhoneSettings};
use tokio::sync::mpsc::UnboundedReceiver;

/// Generous limits: a cold WebKit start can take a while on a shared machine. Each wait ends
/// as soon as its condition holds, so these only bound a failure.
const APPEAR: Duration = Duration::from_secs(60);

/// The `data-stage` of the first call the window shows, once there is one.
async fn stage(window: &Client) -> Option<String> {
    let call = window.find(Locator::Css("[data-testid=call]")).await.ok()?;
    call.attr("data-stage").await.ok().flatten()
}

async fn until_stage(window: &Client, wanted: &str) -> anyhow::Result<()> {
    wait::until_async(&format!("the call to show as {wanted}"), APPEAR, || async {
        (stage(window).await.as_deref() == Some(wanted)).then_some(())
    })
    .await
}

async fn click(window: &Client, css: &str) -> anyhow::Result<()> {
    window
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("finding {css}"))?
        .click()
        .await
        .with_context(|| format!("clicking {css}"))?;
    Ok(())
}

/// The caller's next event of the kind `pick` takes.
async fn caller_event<T>(
    events: &mut UnboundedReceiver<PhoneEvent>,
    what: &str,
    mut pick: impl FnMut(CallEvent) -> Option<T>,
) -> anyhow::Result<T> {
    tokio::time::timeout(APPEAR, async {
        while let Some(event) = events.recv().await {
            if let PhoneEvent::Call(event) = event
                && let Some(picked) = pick(event)
            {
                return Some(picked);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .with_context(|| format!("the caller never saw {what}"))
}

async fn screenshot(window: &Client, name: &str) -> anyhow::Result<()> {
    let png = window.screenshot().await.context("taking a screenshot")?;
    std::fs::write(artifacts_dir("call-window").join(name), png).context("saving a screenshot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_rings_in_the_window_is_answered_survives_a_reload_and_is_hung_up()
-> anyhow::Result<()> {
    let display = VirtualDisplay::start()?;
    // No hub is needed for the phone; the window shows the calls before anyone signs in.
    let driver = Driver::start(
        &display.name(),
        "http://127.0.0.1:9",
        &artifacts_dir("call-window").join("driver.log"),
    )?;
    let sip = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    driver.write_settings(&format!("[phone]\nlisten = \"{sip}\"\n"))?;

    let window = driver.session(&app_binary()).await?;
    let result = async {
        wait::until_async("the phone's line to be ready", APPEAR, || async {
            let line = window
                .find(Locator::Css("[data-testid=phone-line]"))
                .await
                .ok()?;
            (line.attr("data-state").await.ok().flatten().as_deref() == Some("direct"))
                .then_some(())
        })
        .await?;

        let caller = Phone::start(
            PhoneSettings::direct("127.0.0.1:0".parse()?),
            Arc::new(FileDevices::default()),
        )
        .await?;
        let mut events = caller.events().context("the caller's events")?;
        let call = caller.dial(&format!("sip:agent@{sip}")).await?;

        until_stage(&window, "ringing").await?;
        let number = window
            .find(Locator::Css("[data-testid=call-number]"))
            .await?
            .text()
            .await?;
        assert_eq!(
            number, "switchboard",
            "the window shows who calls (here the caller's SIP user)"
        );
        screenshot(&window, "ringing.png").await?;

        click(&window, "[data-testid=answer]").await?;
        caller_event(&mut events, "the answer", |event| {
            matches!(event, CallEvent::Established { .. }).then_some(())
        })
        .await?;
        until_stage(&window, "talking").await?;

        // A reload throws the web view's state away; the call must not notice.
        window.refresh().await.context("reloading the window")?;
        until_stage(&window, "talking").await?;
        let before = caller
            .stats(&call)?
            .context("the caller's media runs")?
            .packets_received;
        wait::until_async(
            "the desk's audio to keep flowing after the reload",
            APPEAR,
            || {
                let caller = caller.clone();
                let call = call.clone();
                async move {
                    let now = caller.stats(&call).ok()??.packets_received;
                    (now >= before + 25).then_some(())
                }
            },
        )
        .await?;
        assert!(
            caller.calls().contains(&call),
            "the reload ended nothing: the caller's call is still up"
        );
        screenshot(&window, "talking-after-reload.png").await?;

        // The keyboard alone: Alt+M mutes the call in progress.
        window
            .find(Locator::Css("body"))
            .await?
            .send_keys("\u{E00A}m\u{E000}")
            .await
            .context("pressing Alt+M")?;
        wait::until_async("Alt+M to mute the call", APPEAR, || async {
            let mute = window
                .find(Locator::Css("[aria-keyshortcuts='Alt+M']"))
                .await
                .ok()?;
            (mute.attr("aria-pressed").await.ok().flatten().as_deref() == Some("true"))
                .then_some(())
        })
        .await?;

        click(&window, "[data-testid=hang-up]").await?;
        let reason = caller_event(&mut events, "the hang-up", |event| match event {
            CallEvent::Ended { reason, .. } => Some(reason),
            _ => None,
        })
        .await?;
        assert_eq!(
            reason,
            EndReason::RemoteHungUp,
            "the agent's click hung the call up at the other end"
        );
        until_stage(&window, "ended").await?;
        screenshot(&window, "ended.png").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;

    if result.is_err() {
        let _ = screenshot(&window, "failure.png").await;
    }
    let _ = window.close().await;
    result
}
