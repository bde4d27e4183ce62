//! Everything a remote peer can send the softphone (SIP requests as the phone reads them, RTP,
//! RTCP, DTMF events, session descriptions), from arbitrary
//! bytes: none of it may panic, loop or grow without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_voice::{dtmf, jitter, rtcp, rtp, sdp, signalling};

fuzz_target!(|bytes: &[u8]| {
    // A SIP request as the phone reads it, and an RTCP report.
    signalling::read_peer_message(bytes);
    let _ = rtcp::report_blocks(bytes);

    if let Ok(packet) = rtp::Packet::parse(bytes) {
        let _ = dtmf::Event::parse(packet.payload);
    }

    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(offer) = sdp::Session::parse(text) {
            let ours = sdp::Session {
                address: std::net::IpAddr::from([127, 0, 0, 1]),
                port: 40_000,
                codecs: vec![switchboard_voice::g711::Law::Mu],
                telephone_event: Some(sdp::TELEPHONE_EVENT),
                direction: sdp::Direction::SendRecv,
            };
            let _ = ours.answer(&offer);
        }
    }

    // The bytes as a stream of sequence numbers arriving at the playout buffer.
    let mut buffer = jitter::JitterBuffer::new(3);
    for pair in bytes.chunks_exact(2) {
        buffer.push(u16::from_be_bytes([pair[0], pair[1]]), pair);
        if pair[0] & 1 == 0 {
            let _ = buffer.pop();
        }
        assert!(
            buffer.len() <= 50,
            "the playout buffer holds at most a second"
        );
    }
});
