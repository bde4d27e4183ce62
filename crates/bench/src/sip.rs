//! A bare SIP client's messages over UDP, for the benchmarks that time a phone from the wire:
//! requests written by hand so that the moment each leaves is known to the microsecond.

use std::net::SocketAddr;

/// The bench client's audio offer: both laws, sent to the discard port, as the bench plays
/// nothing.
pub const OFFER: &str = "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                         t=0 0\r\nm=audio 9 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n\
                         a=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n";

/// One call's dialog as the client sees it: who calls whom, and under which ids.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    /// Makes the From tag and the Via branches unique to this call.
    pub call: usize,
    /// The user part of From: a phone number when a screen pop should find the caller.
    pub caller: String,
    pub ours: SocketAddr,
    pub theirs: SocketAddr,
}

impl Dialog {
    /// The To header's value before the far end tagged it.
    pub fn to(&self) -> String {
        format!("<sip:agent@{}>", self.theirs)
    }

    /// A request in this dialog; `to` is the To header's value, `branch` names the
    /// transaction (a CANCEL and the ACK of a refused INVITE share the INVITE's, and carry its
    /// sequence number).
    pub fn request(
        &self,
        method: &str,
        sequence: u32,
        branch: &str,
        to: &str,
        body: Option<&str>,
    ) -> String {
        let Dialog {
            call_id,
            call,
            caller,
            ours,
            theirs,
        } = self;
        let body = body.unwrap_or_default();
        let content_type = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        };
        format!(
            "{method} sip:agent@{theirs} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {ours};branch=z9hG4bK-{call}-{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{caller}@{ours}>;tag=bench{call}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {sequence} {method}\r\n\
             Contact: <sip:{caller}@{ours}>\r\n\
             {content_type}Content-Length: {length}\r\n\r\n{body}",
            length = body.len(),
        )
    }
}

/// The value of the header `name` in a SIP message's text.
pub fn header(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The status code of a SIP response, `None` for a request.
pub fn status(text: &str) -> Option<u16> {
    text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}
