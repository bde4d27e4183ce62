//! `switchboard-voice`: the softphone, outside the web view, so that a call survives the window
//! being reloaded or hidden.
//!
//! This first part is the media's pure core, each piece without I/O: [`g711`] turns 16-bit
//! audio into the μ-law and A-law bytes RTP carries (payload types 0 and 8) and back; [`rtp`]
//! reads and writes packets; [`jitter`] turns packets as the network delivers them into one
//! frame per 20 ms; [`dtmf`] sends and hears key presses as RFC 4733 events; [`sdp`] describes
//! a call's audio and answers a peer's offer (hold is a direction); [`tone`] tells whether a
//! frequency is present in a stretch of audio, which is how the tests prove that sound got
//! through in each direction.
//!
//! [`sip`] is the signalling over rsipstack: the endpoint, registration with digest
//! authentication (tested against kamailio), calls that arrive (ring, answer, refuse, the
//! caller's CANCEL) and calls placed (progress, answer), hung up by either side, all tested
//! against baresip. Hold, DTMF, transfer, the media loop over UDP and the audio devices come
//! next.

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod tone;
