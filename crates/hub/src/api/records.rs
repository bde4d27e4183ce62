//! Reading single records and a customer's records: what the customer pane shows beside the
//! profile, for a desktop that has not synced them yet.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_model::{CustomerId, Record, RecordKind};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::page_limit;
use super::write::etag;
use crate::HubState;

/// Any record of the caller's tenant by id, with its version as the `ETag`.
#[utoipa::path(
    get,
    path = "/v1/records/{id}",
    tag = "records",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Any record id, such as `tkt_…` or `ord_…`")),
    responses(
        (status = 200, description = "The record, tagged with its kind; ETag holds its version", body = Record),
        (status = 404, description = "No such record in this tenant", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let stored = state
        .db
        .record(caller.tenant(), &id)
        .await?
        .ok_or(ApiError::NotFound { what: "record", id })?;
    Ok(([(header::ETAG, etag(stored.version))], Json(stored.record)).into_response())
}

/// The query string of a customer's records.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerRecordsParams {
    /// Only records of this kind, such as `ticket` or `order`.
    pub kind: Option<String>,
    /// How many records to return, 1 to 1000; 200 when absent.
    pub limit: Option<u32>,
}

/// A customer's tickets, orders, deliveries, carts, transactions, conversations,
/// interactions, notes: oldest change first.
#[utoipa::path(
    get,
    path = "/v1/customers/{id}/records",
    tag = "customers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The customer, `cus_…`"), CustomerRecordsParams),
    responses(
        (status = 200, description = "The customer's records, each tagged with its kind", body = Vec<Record>),
        (status = 400, description = "A parameter is invalid; the message names it", body = ErrorBody),
        (status = 404, description = "No such customer in this tenant", body = ErrorBody),
    )
)]
pub async fn of_customer(
    State(state): State<HubState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<CustomerRecordsParams>,
) -> Result<Json<Vec<Record>>, ApiError> {
    let limit = page_limit(params.limit, 200, 1_000)?;
    let kind = params
        .kind
        .as_deref()
        .map(|name| {
            RecordKind::parse(name).ok_or_else(|| ApiError::InvalidInput {
                field: "kind",
                reason: format!("{name:?} is not a record kind"),
            })
        })
        .transpose()?;
    match state.db.record(caller.tenant(), &id).await? {
        Some(stored) if stored.record.kind() == RecordKind::Customer => {}
        _ => {
            return Err(ApiError::NotFound {
                what: "customer",
                id,
            });
        }
    }

    let records = state
        .db
        .customer_records(caller.tenant(), &CustomerId(id), kind, limit as usize)
        .await?;
    Ok(Json(
        records.into_iter().map(|stored| stored.record).collect(),
    ))
}
