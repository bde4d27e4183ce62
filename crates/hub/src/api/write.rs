//! What every write route shares: the `Idempotency-Key` and `If-Match` headers, reading the
//! body with errors that name the field, fresh ids, and the answer with its `ETag`.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use switchboard_model::{CustomerId, Record, RecordKind, TenantId};

use super::error::ApiError;
use crate::db::Database;
use crate::db::records::{IdempotencyKey, Stored, WriteError, WriteResult};

/// Set on an answer that repeats an earlier one for the same `Idempotency-Key`.
pub static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The longest `Idempotency-Key` the hub stores.
const MAX_KEY: usize = 200;

/// The `ETag` of `version`: a strong tag, quoted as HTTP wants.
pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The version an `If-Match` header names; `None` when the header is absent.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|text| text.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::InvalidInput {
            field: "If-Match",
            reason: "must be an ETag this hub sent, such as \"3\"".to_owned(),
        })
}

/// The version an update must find, which the client must state.
pub fn required_if_match(headers: &HeaderMap) -> Result<u64, ApiError> {
    if_match(headers)?.ok_or(ApiError::PreconditionRequired)
}

/// The request's `Idempotency-Key`, with a digest of what it asks (`route` and `body`), so that
/// the same key with a different request can be told apart.
pub fn idempotency_key(
    headers: &HeaderMap,
    route: &str,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY)
        .ok_or_else(|| ApiError::InvalidInput {
            field: "Idempotency-Key",
            reason: format!("must be 1 to {MAX_KEY} visible characters"),
        })?;

    let mut digest = Sha256::new();
    digest.update(route.as_bytes());
    digest.update([0]);
    digest.update(body);
    let request_hash = digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(Some(IdempotencyKey {
        key: key.to_owned(),
        request_hash,
    }))
}

/// Reads a JSON body; a malformed one is refused with serde's words, which name the field.
pub fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::InvalidInput {
        field: "body",
        reason: error.to_string(),
    })
}

/// The id for a new record: the one the client chose (so that an offline desktop can refer to
/// it before the hub has it), or a fresh one.
pub fn new_id(chosen: Option<&str>, prefix: &str) -> Result<String, ApiError> {
    match chosen {
        Some(id) => {
            let valid = id.len() <= 64
                && id
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    });
            if valid {
                Ok(id.to_owned())
            } else {
                Err(ApiError::InvalidInput {
                    field: "id",
                    reason: format!(
                        "must be {prefix}_ followed by letters, digits or dashes, at most 64 characters"
                    ),
                })
            }
        }
        None => Ok(format!("{prefix}_{:016x}", rand::rng().random::<u64>())),
    }
}

/// Refuses empty or oversized text, naming the field.
pub fn require_text(field: &'static str, text: &str, max: usize) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::InvalidInput {
            field,
            reason: "must not be empty".to_owned(),
        });
    }
    if text.chars().count() > max {
        return Err(ApiError::InvalidInput {
            field,
            reason: format!("must be at most {max} characters"),
        });
    }
    Ok(text.to_owned())
}

/// The live record `id` of `kind` in `tenant`, or 422 naming `field` when there is none. A
/// record of another tenant is "none": tenants never learn of each other's records.
pub async fn referenced(
    db: &Database,
    tenant: &TenantId,
    field: &'static str,
    kind: RecordKind,
    id: &str,
) -> Result<Record, ApiError> {
    match db.record(tenant, id).await? {
        Some(stored) if stored.record.kind() == kind => Ok(stored.record),
        _ => Err(ApiError::UnknownReference {
            field,
            id: id.to_owned(),
        }),
    }
}

/// The current state of the `what` a write changes, as the variant `pick` takes out of it;
/// "not found" when the id names nothing or a record of another kind.
pub fn current_as<T>(
    current: Option<&Stored>,
    what: &'static str,
    id: &str,
    pick: impl FnOnce(&Record) -> Option<&T>,
) -> Result<T, ApiError>
where
    T: Clone,
{
    current
        .and_then(|stored| pick(&stored.record))
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            what,
            id: id.to_owned(),
        })
}

/// Checks that `customer` exists in `tenant`.
pub async fn referenced_customer(
    db: &Database,
    tenant: &TenantId,
    customer: &CustomerId,
) -> Result<(), ApiError> {
    referenced(
        db,
        tenant,
        "customer_id",
        RecordKind::Customer,
        customer.as_str(),
    )
    .await
    .map(drop)
}

/// Turns the outcome of a write to the `what` named `id` into the HTTP answer: its status,
/// the record and its `ETag`.
pub fn answer(
    what: &'static str,
    id: &str,
    outcome: Result<WriteResult, WriteError<ApiError>>,
) -> Result<Response, ApiError> {
    let result = outcome.map_err(|error| match error {
        WriteError::Db(error) => ApiError::Db(error),
        WriteError::KeyReused => ApiError::KeyReused,
        WriteError::VersionMismatch(current) => ApiError::VersionMismatch(current),
        WriteError::AlreadyExists(current) => ApiError::AlreadyExists(current),
        WriteError::NotFound => ApiError::NotFound {
            what,
            id: id.to_owned(),
        },
        WriteError::Refused(error) => error,
    })?;

    let status = StatusCode::from_u16(result.status).unwrap_or(StatusCode::OK);
    let mut response = (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag(result.version)),
        ],
        result.body,
    )
        .into_response();
    if result.replayed {
        response
            .headers_mut()
            .insert(REPLAYED.clone(), HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_quoted_and_weak_tags_and_refuses_others() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            if_match(&headers).ok(),
            Some(None),
            "absent is allowed here"
        );
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(if_match(&headers).ok(), Some(Some(7)), "the hub's own form");
        headers.insert(header::IF_MATCH, HeaderValue::from_static("W/\"7\""));
        assert_eq!(
            if_match(&headers).ok(),
            Some(Some(7)),
            "a weakened copy of it"
        );
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert!(if_match(&headers).is_err(), "a wildcard names no version");
    }

    #[test]
    fn the_same_key_with_another_route_or_body_hashes_differently() {
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", HeaderValue::from_static("op-1"));
        let hash = |route: &str, body: &[u8]| {
            idempotency_key(&headers, route, body)
                .ok()
                .flatten()
                .map(|key| key.request_hash)
        };
        assert_eq!(
            hash("POST /v1/notes", b"{}"),
            hash("POST /v1/notes", b"{}"),
            "stable"
        );
        assert_ne!(
            hash("POST /v1/notes", b"{}"),
            hash("POST /v1/notes", b"{ }"),
            "body counts"
        );
        assert_ne!(
            hash("POST /v1/notes", b"{}"),
            hash("POST /v1/messages", b"{}"),
            "route counts"
        );
    }

    #[test]
    fn chosen_ids_must_have_the_kinds_prefix() {
        assert!(
            new_id(Some("not_abc-1"), "not").is_ok(),
            "a well-formed client id"
        );
        assert!(
            new_id(Some("tkt_abc"), "not").is_err(),
            "another kind's prefix"
        );
        assert!(
            new_id(Some("not_"), "not").is_err(),
            "nothing after the prefix"
        );
        assert!(new_id(Some("not_a b"), "not").is_err(), "spaces");
        let fresh = new_id(None, "not").unwrap_or_default();
        assert!(
            fresh.starts_with("not_") && fresh.len() == 20,
            "a fresh id: {fresh}"
        );
    }
}
