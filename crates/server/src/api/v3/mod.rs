//! HeyGen's current API, v3: its conventions, shared by every v3 resource.
//! Replies are `{"data": …}`; lists are `{"data": [...], "has_more",
//! "next_token"}`, paged with the `limit` and `token` query parameters;
//! errors are `{"error": {"code", "message", "param", "doc_url"}}` (see
//! [`crate::error::V3Error`]). Each resource module translates v3's wire
//! format into the same domain objects the v1/v2 routes use (so far:
//! voices, and reading and deleting videos).

mod videos;
mod voices;

use crate::App;
use crate::error::ApiError;
use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v3/videos", get(videos::list))
        .route("/v3/videos/{video_id}", get(videos::get).delete(videos::delete))
        .route("/v3/voices", get(voices::list))
        .route("/v3/voices/{voice_id}", get(voices::get))
}

/// A single object: `{"data": object}`.
pub(crate) fn data(object: Value) -> Json<Value> {
    Json(json!({ "data": object }))
}

/// A list page: `{"data": [...], "has_more", "next_token"}`; there is
/// more exactly when there is a token to continue with.
pub(crate) fn list_page(items: Vec<Value>, next_token: Option<String>) -> Json<Value> {
    Json(json!({ "data": items, "has_more": next_token.is_some(), "next_token": next_token }))
}

/// The query parameters of a v3 call, read as text and checked one by one,
/// so a wrong one is refused naming it (axum's own extractor would answer
/// in plain text).
pub(crate) type Params = HashMap<String, String>;

/// How many items a page holds: `limit` from 1 to `max`, else `default`.
pub(crate) fn limit(params: &Params, default: usize, max: usize) -> Result<usize, ApiError> {
    match params.get("limit").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid("limit", format!("limit is '{text}'; give a whole number from 1 to {max}"))),
        },
    }
}

/// One page of `items` (already filtered and in order), after the item
/// whose key is `token` (the previous page's `next_token`), as a v3 list
/// reply. Tokens are the last shown item's key, so a page is stable while
/// items are added before it.
pub(crate) fn page<T>(
    items: &[T],
    key: impl Fn(&T) -> String,
    params: &Params,
    default: usize,
    max: usize,
    show: impl Fn(&T) -> Value,
) -> Result<Json<Value>, ApiError> {
    let limit = limit(params, default, max)?;
    let start = match params.get("token").map(|t| t.trim()).filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => {
            let at = items.iter().position(|item| key(item) == token);
            at.map(|i| i + 1).ok_or_else(|| ApiError::invalid("token", "not a next_token this server gave out"))?
        }
    };
    let shown = &items[start.min(items.len())..(start + limit).min(items.len())];
    let next_token = if start + limit < items.len() { shown.last().map(&key) } else { None };
    Ok(list_page(shown.iter().map(show).collect(), next_token))
}
