//! What the hub's answer to a write means for its outbox row: a pure function from status,
//! headers and body to the row's next state, so that every status is tested without a hub.

use std::time::Duration;

use serde::Deserialize;
use switchboard_client::WriteAnswer;
use switchboard_model::{Record, RecordKind};
use switchboard_store::Outcome;

/// What to do with an outbox row after an attempt.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one verdict lives briefly per answer; boxing would only add an allocation"
)]
pub enum Verdict {
    /// Record this outcome in the outbox.
    Settle(Outcome),
    /// Send it again after this long; nothing is known to have happened at the hub.
    Retry { wait: Wait, error: String },
    /// The hub wants a new login; the row stays as it is until the agent signs in again.
    SignIn { message: String },
}

/// How long a retry waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The hub named the time (`Retry-After`).
    Told(Duration),
    /// Our own back-off decides.
    Backoff,
}

/// The error body of a 4xx or 5xx.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: String,
}

/// The body of a 409 or 412 that carries the hub's current record.
#[derive(Debug, Deserialize)]
struct ConflictBody {
    message: String,
    version: u64,
    current: Record,
}

/// Decides what `answer`, the hub's reply to a write of a `kind` record, means.
pub fn judge(answer: &WriteAnswer, kind: RecordKind) -> Verdict {
    let status = answer.status;
    match status {
        200..=299 => match (answer.version, record_of(kind, &answer.body)) {
            (Some(version), Some(record)) => Verdict::Settle(Outcome::Accepted { version, record }),
            // The hub took the write; an answer we cannot read is a hub of another version,
            // and sending it again would only replay the same answer. The agent sees why.
            _ => Verdict::Settle(Outcome::Parked {
                status,
                message: "the hub accepted this write but its answer could not be read; \
                          Switchboard and the hub may be of different versions"
                    .to_owned(),
            }),
        },
        401 => Verdict::SignIn {
            message: message_of(&answer.body).unwrap_or_else(|| "sign in again".to_owned()),
        },
        409 | 412 => match serde_json::from_str::<ConflictBody>(&answer.body) {
            Ok(conflict) => Verdict::Settle(Outcome::Conflict {
                version: conflict.version,
                theirs: conflict.current,
                message: conflict.message,
            }),
            Err(_) => parked(answer),
        },
        408 | 429 | 503 => Verdict::Retry {
            wait: answer.retry_after.map_or(Wait::Backoff, |seconds| {
                Wait::Told(Duration::from_secs(seconds))
            }),
            error: message_of(&answer.body).unwrap_or_else(|| format!("the hub answered {status}")),
        },
        500..=599 => Verdict::Retry {
            wait: Wait::Backoff,
            error: message_of(&answer.body).unwrap_or_else(|| format!("the hub answered {status}")),
        },
        // 400, 403, 404, 422, 428 and the rest: the request as it stands will never succeed.
        _ => parked(answer),
    }
}

fn parked(answer: &WriteAnswer) -> Verdict {
    Verdict::Settle(Outcome::Parked {
        status: answer.status,
        message: message_of(&answer.body)
            .unwrap_or_else(|| format!("the hub refused this write ({})", answer.status)),
    })
}

fn message_of(body: &str) -> Option<String> {
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|error| error.message)
}

/// A write's answer is the bare record; the kind comes from the outbox row.
fn record_of(kind: RecordKind, body: &str) -> Option<Record> {
    let record: serde_json::Value = serde_json::from_str(body).ok()?;
    serde_json::from_value(serde_json::json!({ "kind": kind, "record": record })).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(
        status: u16,
        version: Option<u64>,
        retry_after: Option<u64>,
        body: &str,
    ) -> WriteAnswer {
        WriteAnswer {
            status,
            version,
            retry_after,
            body: body.to_owned(),
        }
    }

    const NOTE: &str = r#"{"id":"note_1","customer_id":"cus_1","interaction_id":null,
        "author":"agt_1","body":"Prefers e-mail","created_at":"2026-12-01T10:00:00Z",
        "updated_at":"2026-12-01T10:00:00Z","version":3}"#;

    #[test]
    fn a_success_is_accepted_with_the_etag_version_and_the_tagged_record() {
        let verdict = judge(&answer(201, Some(3), None, NOTE), RecordKind::Note);
        let Verdict::Settle(Outcome::Accepted { version, record }) = verdict else {
            panic!("a 201 with a record and an ETag is accepted, got {verdict:?}");
        };
        assert_eq!(version, 3, "the version is the ETag's");
        assert_eq!(
            record.kind(),
            RecordKind::Note,
            "the kind comes from the row"
        );
        assert_eq!(record.id(), "note_1");
    }

    #[test]
    fn a_success_that_cannot_be_read_is_parked_not_retried() {
        let verdict = judge(&answer(200, None, None, "{}"), RecordKind::Note);
        assert!(
            matches!(
                verdict,
                Verdict::Settle(Outcome::Parked { status: 200, .. })
            ),
            "retrying would replay the same answer forever, got {verdict:?}"
        );
    }

    #[test]
    fn a_stale_version_becomes_a_conflict_with_the_hubs_record() {
        let body = format!(
            r#"{{"code":"version_mismatch","message":"changed","version":4,
                "current":{{"kind":"note","record":{NOTE}}}}}"#
        );
        let verdict = judge(&answer(412, Some(4), None, &body), RecordKind::Note);
        let Verdict::Settle(Outcome::Conflict {
            version, theirs, ..
        }) = verdict
        else {
            panic!("a 412 is a conflict, got {verdict:?}");
        };
        assert_eq!(
            version, 4,
            "the conflict keeps the hub's version to build on"
        );
        assert_eq!(theirs.id(), "note_1");
    }

    #[test]
    fn a_conflict_without_a_record_is_parked_with_the_hubs_words() {
        let body = r#"{"code":"offer_closed","message":"the offer was taken"}"#;
        assert_eq!(
            judge(&answer(409, None, None, body), RecordKind::Offer),
            Verdict::Settle(Outcome::Parked {
                status: 409,
                message: "the offer was taken".to_owned()
            }),
            "there is no second version to show, so the agent sees why"
        );
    }

    #[test]
    fn refusals_are_parked_with_the_message_that_names_the_field() {
        for status in [400, 403, 404, 422, 428] {
            let body = r#"{"code":"invalid_input","message":"body: must not be empty"}"#;
            assert_eq!(
                judge(&answer(status, None, None, body), RecordKind::Note),
                Verdict::Settle(Outcome::Parked {
                    status,
                    message: "body: must not be empty".to_owned()
                }),
                "a {status} would fail again unchanged"
            );
        }
    }

    #[test]
    fn overload_honours_retry_after_and_server_errors_back_off() {
        assert_eq!(
            judge(&answer(429, None, Some(7), "{}"), RecordKind::Note),
            Verdict::Retry {
                wait: Wait::Told(Duration::from_secs(7)),
                error: "the hub answered 429".to_owned()
            },
            "429 waits as long as the hub says"
        );
        assert!(
            matches!(
                judge(&answer(503, None, None, ""), RecordKind::Note),
                Verdict::Retry {
                    wait: Wait::Backoff,
                    ..
                }
            ),
            "503 without Retry-After backs off"
        );
        assert!(
            matches!(
                judge(&answer(500, None, None, ""), RecordKind::Note),
                Verdict::Retry {
                    wait: Wait::Backoff,
                    ..
                }
            ),
            "500 backs off"
        );
    }

    #[test]
    fn unauthenticated_asks_for_a_login_and_keeps_the_row() {
        let body = r#"{"code":"unauthenticated","message":"sign in again"}"#;
        assert!(
            matches!(
                judge(&answer(401, None, None, body), RecordKind::Note),
                Verdict::SignIn { .. }
            ),
            "a 401 pauses the outbox instead of parking or dropping the row"
        );
    }
}
