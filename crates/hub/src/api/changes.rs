//! `/v1/changes`: the change feed desktops sync from, from zero or from where they stopped.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::page_limit;
use crate::HubState;

/// The most changes one page may hold.
pub const MAX_CHANGES: u32 = 5_000;
const DEFAULT_CHANGES: u32 = 500;

/// The query string of the change feed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// The `cursor` of the previous page; absent to start from the beginning.
    pub after: Option<String>,
    /// How many changes to return, 1 to 1000; 500 when absent.
    pub limit: Option<u32>,
    /// Also say how many changes remain from `after` on (`remaining`), for a progress bar;
    /// it costs a count, so ask on the first page only.
    #[serde(default)]
    pub count: bool,
}

/// Every created, updated or deleted record after `after`, in one total order. A record
/// appears once, in its latest state; deletions appear as tombstones.
#[utoipa::path(
    get,
    path = "/v1/changes",
    tag = "sync",
    security(("bearer" = [])),
    params(ChangesParams),
    responses(
        (status = 200, description = "The next changes and the cursor to continue from", body = switchboard_model::ChangePage),
        (status = 400, description = "A parameter is invalid; the message names it", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<HubState>,
    caller: Caller,
    Query(params): Query<ChangesParams>,
) -> Result<Response, ApiError> {
    let limit = page_limit(params.limit, DEFAULT_CHANGES, MAX_CHANGES)?;
    let after = parse_cursor(params.after.as_deref(), "after")?;
    let remaining = match params.count {
        true => Some(state.db.changes_after(caller.tenant(), after).await?),
        false => None,
    };
    let page = state
        .db
        .changes_json(caller.tenant(), after, limit as usize, remaining)
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page).into_response())
}

/// Reads a change-feed cursor given in `field`; absent or empty means the start.
pub fn parse_cursor(cursor: Option<&str>, field: &'static str) -> Result<i64, ApiError> {
    match cursor {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| ApiError::InvalidInput {
                field,
                reason: "is not a cursor this hub issued; start again without it".to_owned(),
            }),
    }
}
