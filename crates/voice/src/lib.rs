//! `switchboard-voice`: the softphone, outside the web view, so that a call survives the window
//! being reloaded or hidden.
//!
//! This first part is the media's pure core: [`g711`] turns 16-bit audio into the μ-law and
//! A-law bytes RTP carries (payload types 0 and 8) and back, and [`tone`] tells whether a
//! frequency is present in a stretch of audio, which is how the tests prove that sound got
//! through in each direction and how DTMF digits are heard. Signalling (SIP over rsipstack),
//! RTP and the audio devices come next.

pub mod g711;
pub mod sdp;
pub mod tone;
