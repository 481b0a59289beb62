//! HeyGen's current API, v3: its conventions, shared by every v3 resource.
//! Replies are `{"data": …}`; lists are `{"data": [...], "has_more",
//! "next_token"}`, paged with the `limit` and `token` query parameters;
//! errors are `{"error": {"code", "message", "param", "doc_url"}}` (see
//! [`crate::error::V3Error`]). Each resource module translates v3's wire
//! format into the same domain objects the v1/v2 routes use (so far:
//! voices, and reading and deleting videos).

mod assets;
mod avatars;
mod batches;
mod users;
mod videos;
mod voices;
mod webhooks;

use crate::App;
use crate::error::{ApiError, V3Error};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The v3 routes; bodies that may carry a file inline (base64) may be as
/// large as `max_upload_bytes` allows, once encoded.
pub(crate) fn routes(max_upload_bytes: u64) -> Router<App> {
    let inline_files = DefaultBodyLimit::max((max_upload_bytes as usize / 3 * 4).saturating_add(1 << 20));
    Router::new()
        .route("/v3/videos", get(videos::list).post(videos::create).layer(inline_files))
        .route("/v3/videos/batches", post(batches::create).layer(inline_files))
        .route("/v3/videos/batches/{batch_id}", get(batches::get))
        .route("/v3/videos/statuses", get(batches::statuses))
        .route("/v3/videos/{video_id}", get(videos::get).delete(videos::delete))
        .route("/v3/avatars", get(avatars::list).post(avatars::create).layer(inline_files))
        .route("/v3/avatars/looks", get(avatars::looks))
        .route("/v3/avatars/looks/{look_id}", get(avatars::look).patch(avatars::update_look).delete(avatars::delete))
        .route("/v3/avatars/{group_id}", get(avatars::get).delete(avatars::delete))
        .route("/v3/users/me", get(users::me))
        .route("/v3/webhooks/endpoints", get(webhooks::list).post(webhooks::create))
        .route("/v3/webhooks/endpoints/{endpoint_id}", patch(webhooks::update).delete(webhooks::delete))
        .route("/v3/webhooks/endpoints/{endpoint_id}/rotate-secret", post(webhooks::rotate_secret))
        .route("/v3/webhooks/event-types", get(webhooks::event_types))
        .route("/v3/webhooks/events", get(webhooks::events))
        .route("/v3/assets", get(assets::list).post(assets::upload).layer(DefaultBodyLimit::disable()))
        .route("/v3/assets/{asset_id}", get(assets::get).delete(assets::delete))
        .route("/v3/voices", get(voices::list))
        .route("/v3/voices/speech", post(voices::speech))
        .route("/v3/voices/clone", post(voices::clone))
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
    let (shown, next_token) = page_of(items, key, params, default, max)?;
    Ok(list_page(shown.iter().map(show).collect(), next_token))
}

/// The items of one page, as [`page`] picks them, and the next page's
/// token: for items shown by async work (file URLs), done for the page only.
pub(crate) fn page_of<'a, T>(
    items: &'a [T],
    key: impl Fn(&T) -> String,
    params: &Params,
    default: usize,
    max: usize,
) -> Result<(&'a [T], Option<String>), ApiError> {
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
    Ok((shown, next_token))
}

/// A v3 JSON body. Unknown fields are ignored; a field of the wrong type
/// is refused with its path in `param` (`voice_settings.speed`).
pub(crate) struct V3Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for V3Json<T> {
    type Rejection = V3Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON, with Content-Type: application/json".into(),
            )
            .into());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::PayloadTooLarge(format!("the request body cannot be read: {}", e.body_text())))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
        Ok(V3Json(parse(&value)?))
    }
}

/// Reads `value` as a `T`; a field of the wrong type is refused with its
/// path in `param` (`voice_settings.speed`). Unknown fields are ignored.
pub(crate) fn parse<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // serde names a missing field in its message, at the object's path.
        let missing = inner.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
        let (param, inner) = match (missing, path.as_str()) {
            (Some(field), ".") => (field.to_string(), "is required".to_string()),
            (Some(field), object) => (format!("{object}.{field}"), "is required".to_string()),
            (None, _) => (path, inner),
        };
        if param == "." {
            ApiError::bad_request(format!("the body is not what this call takes: {inner}"))
        } else {
            ApiError::invalid(param, inner)
        }
    })
}

/// A file a v3 request gives inline: at a URL, an uploaded asset, or the
/// bytes themselves in base64.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum AssetInput {
    Url { url: String },
    AssetId { asset_id: String },
    Base64 { media_type: Option<String>, data: String },
}

impl AssetInput {
    /// The tenant's asset of `file_type` this input names, fetched or
    /// decoded and kept as an upload if need be; `field` names the input
    /// in errors.
    pub(crate) async fn resolve(
        &self,
        app: &App,
        key_id: &str,
        file_type: &str,
        field: &str,
    ) -> Result<crate::db::Asset, ApiError> {
        use crate::api::assets::{Named, keep_bytes, named_asset};
        match self {
            AssetInput::Url { url } => {
                let url_field = format!("{field}.url");
                let named = Named { id: None, url: Some(url), id_field: "", url_field: &url_field };
                named_asset(app, key_id, named, file_type).await
            }
            AssetInput::AssetId { asset_id } => {
                let id_field = format!("{field}.asset_id");
                let named = Named { id: Some(asset_id), url: None, id_field: &id_field, url_field: "" };
                named_asset(app, key_id, named, file_type).await
            }
            AssetInput::Base64 { media_type, data } => {
                use base64::Engine;
                let data_field = format!("{field}.data");
                // A data URL's header ("data:image/png;base64,") may come along.
                let encoded = data.split_once("base64,").map_or(data.as_str(), |(_, rest)| rest);
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|e| ApiError::invalid(&data_field, format!("is not base64: {e}")))?;
                let media_type = media_type.as_deref().unwrap_or("");
                keep_bytes(app, key_id, bytes, media_type, file_type, &data_field).await
            }
        }
    }
}
