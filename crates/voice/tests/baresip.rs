//! Calls between the phone and real softphones: baresip on loopback, scripted through its
//! `ctrl_tcp` module. Calls both ways, refused, cancelled, held and resumed from either side,
//! keys pressed both ways, and a blind transfer to a third baresip. Audio is checked, not
//! assumed: each side plays its own tone and the test finds the other side's tone in what each
//! one heard. Each step waits for the SIP event it causes.

mod peers;

use std::sync::Arc;

use anyhow::Context;
use peers::{
    Account, BARESIP_TONE, Baresip, PHONE_TONE, TestDevices, call_event, carries, ended,
    established, held, incoming, listen, resumed,
};
use switchboard_voice::call::{CallEvent, CallId, EndReason, Refusal, Side};
use switchboard_voice::phone::{Phone, PhoneEvent, PhoneSettings};
use tokio::sync::mpsc::UnboundedReceiver;

async fn phone() -> anyhow::Result<(Phone, TestDevices)> {
    let devices = TestDevices::default();
    let phone = Phone::start(
        PhoneSettings::direct("127.0.0.1:0".parse()?),
        Arc::new(devices.clone()),
    )
    .await?;
    Ok((phone, devices))
}

fn agent(phone: &Phone) -> String {
    format!("sip:agent@{}", phone.address())
}

const MANUAL: Account<'static> = Account::Direct {
    answermode: "manual",
};
const AUTO: Account<'static> = Account::Direct { answermode: "auto" };

/// A call the phone placed to a baresip that answers by itself, once both sides say it is
/// established.
struct Placed {
    phone: Phone,
    devices: TestDevices,
    events: UnboundedReceiver<PhoneEvent>,
    callee: Baresip,
    call: CallId,
}

async fn placed_call(user: &str) -> anyhow::Result<Placed> {
    let (phone, devices) = phone().await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut callee = Baresip::start(user, AUTO).await?;
    let call = phone.dial(&callee.uri()).await?;
    callee.event("CALL_ESTABLISHED").await?;
    assert_eq!(
        established(&mut events).await?,
        call,
        "the placed call is the one established"
    );
    Ok(Placed {
        phone,
        devices,
        events,
        callee,
        call,
    })
}

#[tokio::test]
async fn a_call_from_baresip_is_answered_talked_both_ways_and_hung_up_by_the_agent()
-> anyhow::Result<()> {
    let (phone, devices) = phone().await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut caller = Baresip::start("447700900123", MANUAL).await?;

    caller.command("dial", &agent(&phone)).await?;
    let (call, number) = incoming(&mut events).await?;
    assert_eq!(
        number, "447700900123",
        "the caller's number is what the screen pop looks up"
    );
    caller.event("CALL_RINGING").await?;

    phone.answer(&call).await?;
    caller.event("CALL_ESTABLISHED").await?;
    assert_eq!(established(&mut events).await?, call, "the same call");

    let recording = devices.recording(&call)?;
    let heard = listen(&recording, 1.5).await?;
    assert!(
        carries(&heard[4_000..], BARESIP_TONE),
        "the agent hears the caller's {BARESIP_TONE} Hz tone"
    );
    assert!(
        !carries(&heard, PHONE_TONE),
        "and not its own tone: no loop-back of the agent's audio"
    );

    phone.hang_up(&call).await?;
    caller.event("CALL_CLOSED").await?;
    let (id, reason, talked) = ended(&mut events).await?;
    assert_eq!(id, call);
    assert_eq!(
        reason,
        EndReason::LocalHungUp,
        "the agent hung up, and the event says so"
    );
    assert!(
        talked.as_secs_f64() >= 1.5,
        "the call's talk time covers the 1.5 s listened to, got {talked:?}"
    );

    let caller_heard = caller.heard()?;
    assert!(
        caller_heard.len() > 8_000 && carries(&caller_heard[4_000..], PHONE_TONE),
        "the caller heard the agent's {PHONE_TONE} Hz tone ({} samples recorded)",
        caller_heard.len()
    );
    Ok(())
}

#[tokio::test]
async fn a_busy_agent_refuses_and_the_caller_hears_busy() -> anyhow::Result<()> {
    let (phone, _) = phone().await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut caller = Baresip::start("tom", MANUAL).await?;

    caller.command("dial", &agent(&phone)).await?;
    let (call, _) = incoming(&mut events).await?;
    phone.decline(&call, Refusal::Busy)?;
    let closed = caller.event("CALL_CLOSED").await?;
    let reason = closed["param"].as_str().unwrap_or_default();
    assert!(
        reason.contains("486") || reason.to_lowercase().contains("busy"),
        "the caller must hear busy, not a failure: {closed}"
    );
    let (_, reason, talked) = ended(&mut events).await?;
    assert_eq!(reason, EndReason::Refused);
    assert!(talked.is_zero(), "a refused call was never talked on");
    Ok(())
}

#[tokio::test]
async fn a_call_in_a_codec_the_desk_does_not_speak_is_refused_before_it_rings() -> anyhow::Result<()>
{
    let devices = TestDevices::default();
    let phone = Phone::start(
        PhoneSettings {
            codecs: vec![switchboard_voice::g711::Law::A],
            ..PhoneSettings::direct("127.0.0.1:0".parse()?)
        },
        Arc::new(devices),
    )
    .await?;
    let mut events = phone.events().context("the phone's events")?;
    // baresip offers PCMU alone; this desk takes PCMA alone.
    let mut caller = Baresip::start("ulrich", MANUAL).await?;
    caller.command("dial", &agent(&phone)).await?;
    let closed = caller.event("CALL_CLOSED").await?;
    assert!(
        closed["param"].as_str().unwrap_or_default().contains("488"),
        "the caller is told the media is not acceptable: {closed}"
    );
    assert!(
        events.try_recv().is_err(),
        "a call that cannot carry audio never rings the agent"
    );
    Ok(())
}

#[tokio::test]
async fn a_caller_who_gives_up_while_it_rings_ends_the_call() -> anyhow::Result<()> {
    let (phone, _) = phone().await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut caller = Baresip::start("ana", MANUAL).await?;

    caller.command("dial", &agent(&phone)).await?;
    let (call, _) = incoming(&mut events).await?;
    caller.event("CALL_RINGING").await?;
    caller.command("hangup", "").await?;
    let (id, reason, _) = ended(&mut events).await?;
    assert_eq!(id, call, "the ringing call is the one that ended");
    assert_eq!(
        reason,
        EndReason::CallerCancelled,
        "a CANCEL while ringing must stop the ringing, with its reason"
    );
    assert!(
        phone.answer(&call).await.is_err(),
        "a cancelled call can no longer be answered"
    );
    Ok(())
}

#[tokio::test]
async fn the_agent_calls_baresip_talks_both_ways_and_baresip_hangs_up() -> anyhow::Result<()> {
    let Placed {
        phone,
        devices,
        mut events,
        mut callee,
        call,
    } = placed_call("bob").await?;
    let timing = phone.timing(&call)?;
    assert!(
        timing.rang.is_some(),
        "an answered call knows how long it rang"
    );

    let heard = listen(&devices.recording(&call)?, 1.5).await?;
    assert!(
        carries(&heard[4_000..], BARESIP_TONE),
        "the agent hears the callee's tone"
    );

    callee.command("hangup", "").await?;
    let (id, reason, _) = ended(&mut events).await?;
    assert_eq!(id, call);
    assert_eq!(
        reason,
        EndReason::RemoteHungUp,
        "the other side hung up, and the event says so"
    );
    // Its recording is complete once it reports the call closed.
    callee.event("CALL_CLOSED").await?;
    let callee_heard = callee.heard()?;
    assert!(
        callee_heard.len() > 8_000 && carries(&callee_heard[4_000..], PHONE_TONE),
        "the callee heard the agent's tone ({} samples recorded)",
        callee_heard.len()
    );
    Ok(())
}

#[tokio::test]
async fn early_media_is_heard_before_the_answer() -> anyhow::Result<()> {
    let (phone, devices) = phone().await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut callee = Baresip::start(
        "ivr",
        Account::Direct {
            answermode: "early",
        },
    )
    .await?;

    let call = phone.dial(&callee.uri()).await?;
    call_event(&mut events, "early media", |event| match event {
        CallEvent::EarlyMedia { call: id } => Some(id),
        _ => None,
    })
    .await?;
    // baresip 1.0 answers "early" with a 183 and its description but sends no audio
    // before the answer, so what is checked here is this side: its media runs, listening
    // only, and sends nothing to a call nobody answered.
    let recording = devices.recording(&call)?;
    listen(&recording, 0.5).await?;
    let stats = phone
        .stats(&call)?
        .context("early media starts the call's media")?;
    assert_eq!(stats.packets_sent, 0, "nothing is sent before the answer");
    assert!(
        phone.timing(&call)?.rang.is_none(),
        "early media is not an answer"
    );

    callee.command("accept", "").await?;
    assert_eq!(
        established(&mut events).await?,
        call,
        "then the call is answered"
    );
    let heard = listen(&recording, 1.5).await?;
    assert!(
        carries(&heard[4_000..], BARESIP_TONE),
        "after the answer the two sides talk on the media early media started"
    );
    phone.hang_up(&call).await?;
    ended(&mut events).await?;
    Ok(())
}

#[tokio::test]
async fn hold_stops_the_audio_both_ways_and_resume_brings_it_back() -> anyhow::Result<()> {
    let Placed {
        phone,
        devices,
        mut events,
        call,
        callee: _carol,
    } = placed_call("carol").await?;
    let recording = devices.recording(&call)?;
    assert!(carries(
        &listen(&recording, 1.0).await?[2_000..],
        BARESIP_TONE
    ));

    phone.hold(&call).await?;
    assert_eq!(
        held(&mut events).await?,
        Side::Local,
        "the agent put the call on hold"
    );
    // What was already in flight plays out during the first 0.2 s.
    let on_hold = listen(&recording, 1.2).await?;
    assert!(
        !carries(&on_hold[1_600..], BARESIP_TONE),
        "on hold, the agent hears nothing of the other side"
    );
    let sent = phone.stats(&call)?.context("media runs")?.packets_sent;
    listen(&recording, 0.5).await?;
    let sent_later = phone.stats(&call)?.context("media runs")?.packets_sent;
    assert!(
        sent_later <= sent + 1,
        "on hold, the desk sends no audio ({sent} then {sent_later} packets)"
    );

    phone.resume(&call).await?;
    assert_eq!(resumed(&mut events).await?, Side::Local);
    let back = listen(&recording, 1.2).await?;
    assert!(
        carries(&back[2_400..], BARESIP_TONE),
        "after resume, the agent hears the other side again"
    );
    phone.hang_up(&call).await?;
    ended(&mut events).await?;
    Ok(())
}

#[tokio::test]
async fn the_other_side_holds_and_resumes_and_the_agent_is_told() -> anyhow::Result<()> {
    let (phone, _) = phone().await?;
    let mut events = phone.events().context("the phone's events")?;
    let mut caller = Baresip::start("dora", MANUAL).await?;
    caller.command("dial", &agent(&phone)).await?;
    let (call, _) = incoming(&mut events).await?;
    phone.answer(&call).await?;
    caller.event("CALL_ESTABLISHED").await?;
    established(&mut events).await?;

    caller.command("hold", "").await?;
    assert_eq!(
        held(&mut events).await?,
        Side::Remote,
        "the caller put the agent on hold"
    );
    caller.command("resume", "").await?;
    assert_eq!(
        resumed(&mut events).await?,
        Side::Remote,
        "and took the call back"
    );
    phone.hang_up(&call).await?;
    ended(&mut events).await?;
    Ok(())
}

#[tokio::test]
async fn keys_pressed_on_either_side_are_heard_once_on_the_other() -> anyhow::Result<()> {
    let Placed {
        phone,
        mut events,
        mut callee,
        call,
        devices: _,
    } = placed_call("eve").await?;

    phone.send_dtmf(&call, "5#").await?;
    let first = callee.event("CALL_DTMF_START").await?;
    let second = callee.event("CALL_DTMF_START").await?;
    assert_eq!(
        (first["param"].as_str(), second["param"].as_str()),
        (Some("5"), Some("#")),
        "baresip hears the agent's keys in order"
    );
    assert!(
        phone.send_dtmf(&call, "5x").await.is_err(),
        "a key no keypad has is refused before anything is sent"
    );

    callee.command("sndcode", "7").await?;
    let key = call_event(&mut events, "a key from baresip", |event| match event {
        CallEvent::Dtmf { key, .. } => Some(key),
        _ => None,
    })
    .await?;
    assert_eq!(
        key, '7',
        "the agent's phone hears the other side's key once"
    );
    phone.hang_up(&call).await?;
    let (_, reason, _) = ended(&mut events).await?;
    assert_eq!(
        reason,
        EndReason::LocalHungUp,
        "no second key press came before the end"
    );
    Ok(())
}

#[tokio::test]
async fn a_blind_transfer_hands_the_call_to_a_third_phone_and_leaves_it() -> anyhow::Result<()> {
    let Placed {
        phone,
        mut events,
        call,
        devices: _,
        callee: _customer,
    } = placed_call("frank").await?;
    let mut specialist = Baresip::start("grace", AUTO).await?;

    phone.transfer(&call, &specialist.uri()).await?;
    let incoming = specialist.event("CALL_ESTABLISHED").await?;
    assert!(
        incoming["peeruri"]
            .as_str()
            .unwrap_or_default()
            .contains("frank"),
        "the specialist talks to the customer now: {incoming}"
    );
    let mut statuses = Vec::new();
    let reason = loop {
        match peers::next_event(&mut events).await? {
            PhoneEvent::Call(CallEvent::Transfer { status, .. }) => statuses.push(status),
            PhoneEvent::Call(CallEvent::Ended { reason, .. }) => {
                break reason;
            }
            _ => {}
        }
    };
    assert_eq!(
        reason,
        EndReason::Transferred,
        "the agent's leg ends as transferred"
    );
    assert_eq!(
        statuses.last(),
        Some(&200),
        "the customer's phone reports the transfer's progress, ending with the target's \
         answer: {statuses:?}"
    );
    Ok(())
}
