//! `/v1/customers`: the customer list with search and cursor paging, and one customer's profile.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_model::{Cursor, Customer, CustomerSummary, IdentityKind, Page, Record};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::page_limit;
use super::write::etag;
use crate::HubState;

/// The largest page a client may ask for; bigger pages hold the database lock too long.
pub const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 50;

/// The query string of the customer list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Text to find in names and companies, or at the start of a phone number or e-mail.
    pub q: Option<String>,
    /// How many customers to return, 1 to 500; 50 when absent.
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub cursor: Option<String>,
}

/// Lists customers in name order, one page at a time.
#[utoipa::path(
    get,
    path = "/v1/customers",
    tag = "customers",
    security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "One page of customers", body = Page<CustomerSummary>),
        (status = 400, description = "A parameter is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<HubState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<CustomerSummary>>, ApiError> {
    let limit = page_limit(params.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let text = params
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());

    let rows = state
        .db
        .search_customers(
            caller.tenant(),
            text.as_deref(),
            after.as_ref().map(|(key, id)| (key.as_str(), id.as_str())),
            limit as usize,
        )
        .await?;

    // A full page may have more behind it; a short page is the last.
    let next = (rows.len() == limit as usize)
        .then(|| {
            rows.last()
                .map(|(key, summary)| encode_cursor(key, summary.id.as_str()))
        })
        .flatten();
    let items = rows.into_iter().map(|(_, summary)| summary).collect();
    Ok(Json(Page { items, next }))
}

/// The query string of an identity lookup.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdentityParams {
    /// `phone`, `email` or `chat_handle`.
    pub kind: String,
    /// The identity: a phone number in E.164 (`+447700900123`), an e-mail address, a handle.
    pub value: String,
}

/// Every customer with this identity. Usually one; several when people share it (a household
/// landline), and then the agent chooses: the hub never guesses.
#[utoipa::path(
    get,
    path = "/v1/customers/by-identity",
    tag = "customers",
    security(("bearer" = [])),
    params(IdentityParams),
    responses(
        (status = 200, description = "The customers with this identity, in name order", body = Vec<CustomerSummary>),
        (status = 400, description = "A parameter is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn by_identity(
    State(state): State<HubState>,
    caller: Caller,
    Query(params): Query<IdentityParams>,
) -> Result<Json<Vec<CustomerSummary>>, ApiError> {
    let kind = IdentityKind::parse(&params.kind).ok_or_else(|| ApiError::InvalidInput {
        field: "kind",
        reason: format!("must be phone, email or chat_handle, got {:?}", params.kind),
    })?;
    let value = normalise_identity(kind, &params.value)?;

    let found = state
        .db
        .customers_by_identity(caller.tenant(), kind, &value)
        .await?;
    Ok(Json(found))
}

/// Brings an identity to the form the hub stores: E.164 for phones, lower case for e-mail.
///
/// FIXME(hub-identity): phones are only checked for E.164 shape here; national formats
/// ("07700 900123") need the numbering plan (the phonenumber crate) and the caller's region.
pub(super) fn normalise_identity(kind: IdentityKind, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    match kind {
        IdentityKind::Phone => {
            let compact: String = value
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
                .collect();
            let digits = compact.strip_prefix('+').unwrap_or("");
            if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::InvalidInput {
                    field: "value",
                    reason: format!(
                        "{value:?} is not a phone number in E.164 form such as +447700900123"
                    ),
                });
            }
            Ok(compact)
        }
        IdentityKind::Email => Ok(value.to_lowercase()),
        IdentityKind::ChatHandle => Ok(value.to_owned()),
    }
}

/// Returns one customer's profile with all their identities.
#[utoipa::path(
    get,
    path = "/v1/customers/{id}",
    tag = "customers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The customer's id, such as cus_0123456789abcdef")),
    responses(
        (status = 200, description = "The customer; ETag holds its version", body = Customer),
        (status = 404, description = "No customer has this id", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.db.record(caller.tenant(), &id).await? {
        Some(stored) => match stored.record {
            Record::Customer(customer) => {
                let customer: Customer = customer;
                Ok(([(header::ETAG, etag(stored.version))], Json(customer)).into_response())
            }
            _ => Err(ApiError::NotFound {
                what: "customer",
                id,
            }),
        },
        None => Err(ApiError::NotFound {
            what: "customer",
            id,
        }),
    }
}

/// Cursors are the hex of the last row's sort key and id, so that they survive any URL and
/// carry no meaning a client could come to rely on.
fn encode_cursor(sort_key: &str, id: &str) -> Cursor {
    let raw = format!("{sort_key}\u{0}{id}");
    Cursor(raw.bytes().map(|byte| format!("{byte:02x}")).collect())
}

fn decode_cursor(cursor: &str) -> Result<(String, String), ApiError> {
    let invalid = || ApiError::InvalidInput {
        field: "cursor",
        reason: "is not a cursor this hub issued; start again without it".to_owned(),
    };

    if !cursor.len().is_multiple_of(2) || !cursor.is_ascii() {
        return Err(invalid());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&cursor[at..at + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (sort_key, id) = raw.split_once('\u{0}').ok_or_else(invalid)?;
    Ok((sort_key.to_owned(), id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_any_name() {
        for (key, id) in [
            ("ada lovelace", "cus_1"),
            ("chloé martin", "cus_2"),
            ("", "cus_3"),
        ] {
            let cursor = encode_cursor(key, id);
            let decoded = decode_cursor(&cursor.0).expect("a cursor we issued decodes");
            assert_eq!(
                decoded,
                (key.to_owned(), id.to_owned()),
                "{key:?} must round-trip"
            );
        }
    }

    #[test]
    fn identities_are_normalised_before_lookup() {
        let phone = normalise_identity(IdentityKind::Phone, " +44 7700-900 123 ");
        assert_eq!(
            phone.ok().as_deref(),
            Some("+447700900123"),
            "spacing is not part of a number"
        );
        let email = normalise_identity(IdentityKind::Email, "Ada@Example.ORG");
        assert_eq!(
            email.ok().as_deref(),
            Some("ada@example.org"),
            "e-mail is case-insensitive"
        );
        for bad in ["07700900123", "+44", "+44abc7700900"] {
            assert!(
                matches!(
                    normalise_identity(IdentityKind::Phone, bad),
                    Err(ApiError::InvalidInput { field: "value", .. })
                ),
                "{bad:?} must be refused as not E.164"
            );
        }
    }

    #[test]
    fn foreign_cursors_are_refused_naming_the_field() {
        for bad in ["xyz", "0", "ff", "6164", "é1"] {
            let error = decode_cursor(bad).expect_err("a cursor we did not issue is refused");
            assert!(
                matches!(
                    error,
                    ApiError::InvalidInput {
                        field: "cursor",
                        ..
                    }
                ),
                "{bad:?} must be refused as an invalid cursor, got {error:?}"
            );
        }
    }
}
