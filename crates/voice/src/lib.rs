//! `switchboard-voice`: the softphone, outside the web view, so that a call survives the window
//! being reloaded or hidden.
//!
//! The API is [`phone::Phone`]: start it with [`phone::PhoneSettings`] and the [`audio`]
//! devices calls use, register, dial, and act on calls by id (answer, decline, hang up, hold,
//! resume, mute, keys, transfer); everything that happens comes as [`phone::PhoneEvent`]s, the
//! calls' [`call::CallEvent`]s among them, and [`phone::Phone::timing`] tells a call's timing.
//!
//! Inside, [`signalling`] runs the SIP side over rsipstack (whose types stay in this crate),
//! [`call`] keeps each call's state and the rules that turn descriptions into a media stream,
//! and [`media`] runs a call's audio: RTP out and in every 20 ms, the playout buffer, key
//! presses, RTCP. Its pure pieces, each without I/O: [`g711`] (μ-law and A-law), [`rtp`],
//! [`rtcp`], [`jitter`] (the playout buffer), [`dtmf`] (RFC 4733 events), [`sdp`] (offers and
//! answers; hold is a direction) and [`tone`] (Goertzel tone detection, how the tests prove
//! audio got through). [`sound_card`] plays calls through the agent's headset with cpal;
//! [`audio`] also has files, tones and silence for headless machines and tests.

pub mod audio;
pub mod call;
pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod media;
pub mod phone;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod signalling;
pub mod sound_card;
pub mod tone;
