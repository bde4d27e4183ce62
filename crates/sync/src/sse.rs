//! Server-sent events, read incrementally: bytes arrive in arbitrary chunks (a line, or a
//! multi-byte character, may be split between two), and events come out whole.

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id` field: for the hub, the change's cursor.
    pub id: Option<String>,
    /// The `event` field; `message` when absent, as the standard says.
    pub event: String,
    /// The `data` lines, joined with newlines.
    pub data: String,
}

/// An incremental parser of `text/event-stream`.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line that has not ended yet.
    partial: Vec<u8>,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds the next chunk and returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        self.partial.extend_from_slice(chunk);

        let mut start = 0;
        while let Some(offset) = self.partial[start..].iter().position(|byte| *byte == b'\n') {
            let end = start + offset;
            let mut line = &self.partial[start..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            // Invalid UTF-8 from the hub is replaced rather than trusted; the event's JSON
            // will then fail to parse and be reported.
            let line = String::from_utf8_lossy(line).into_owned();
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
            start = end + 1;
        }
        self.partial.drain(..start);
        events
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            // A comment: the hub's keep-alive.
            return None;
        }

        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "id" => self.id = Some(value.to_owned()),
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            // `retry` and unknown fields are ignored: the engine has its own back-off.
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let data = self.data.take()?;
        Some(SseEvent {
            // The last id stays in force for later events, as in the standard.
            id: self.id.clone(),
            event: event.unwrap_or_else(|| "message".to_owned()),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = "id: 41\nevent: change\ndata: {\"a\":\"é\"}\n\n: keep-alive\n\nid: 42\r\nevent: change\r\ndata: one\r\ndata: two\r\n\r\n";
        let whole = SseParser::default().push(stream.as_bytes());
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    id: Some("41".to_owned()),
                    event: "change".to_owned(),
                    data: "{\"a\":\"é\"}".to_owned()
                },
                SseEvent {
                    id: Some("42".to_owned()),
                    event: "change".to_owned(),
                    data: "one\ntwo".to_owned()
                },
            ],
            "comments are skipped, CRLF is a line end and data lines join"
        );

        // Every split point, including inside the two-byte é, gives the same events.
        let bytes = stream.as_bytes();
        for split in 0..bytes.len() {
            let mut parser = SseParser::default();
            let mut events = parser.push(&bytes[..split]);
            events.extend(parser.push(&bytes[split..]));
            assert_eq!(events, whole, "split at byte {split} changed the events");
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_and_the_name_defaults() {
        let events = SseParser::default().push(b"event: change\n\ndata: x\n\n");
        assert_eq!(
            events,
            vec![SseEvent {
                id: None,
                event: "message".to_owned(),
                data: "x".to_owned()
            }],
            "an event with no data is dropped, and its name does not leak into the next"
        );
    }
}
