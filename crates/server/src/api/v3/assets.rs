//! `POST /v3/assets` (a multipart upload, streamed to the store with the
//! size limit), `GET /v3/assets`, `GET /v3/assets/{asset_id}` and `DELETE
//! /v3/assets/{asset_id}`: the same assets as `POST /v1/asset` makes, and
//! as videos and avatars name by id.

use super::{Params, data, list_page, page_of};
use crate::App;
use crate::api::assets::{accepted, receive, register_asset};
use crate::auth::Tenant;
use crate::db::AssetInfo;
use crate::error::{ApiError, V3Error};
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use serde_json::{Value, json};

/// Assets a page holds unless the client asks otherwise, and at most.
const PAGE: (usize, usize) = (20, 100);

pub(crate) async fn upload(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, V3Error> {
    let mut form = form.map_err(|e| {
        ApiError::UnsupportedMediaType(format!(
            "send the file as multipart/form-data (field 'file'): {}",
            e.body_text()
        ))
    })?;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("the body is not a readable multipart form: {}", e.body_text()))
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().map(str::to_string).filter(|n| !n.trim().is_empty());
        // The part's own type, else what its file name suggests.
        let content_type = field
            .content_type()
            .filter(|t| *t != "application/octet-stream")
            .map(str::to_ascii_lowercase)
            .or_else(|| name.as_deref().and_then(|n| mime_guess::from_path(n).first()).map(|m| m.to_string()))
            .unwrap_or_default();
        let (file_type, extension) = accepted(&content_type)?;
        let received = receive(&app, extension, field).await?;
        if received.size == 0 {
            return Err(ApiError::invalid("file", "is empty").into());
        }
        let size = received.size;
        let asset = register_asset(&app, &key_id, received, &content_type, file_type, name).await?;
        return Ok(data(json!({
            "asset_id": asset.id,
            "url": app.store.url(&app.public_url, &asset.file).await,
            "mime_type": content_type,
            "size_bytes": size,
            "name": asset.name,
            "file_type": asset.file_type,
        })));
    }
    Err(ApiError::invalid("file", "is required: send the file as the multipart form field 'file'").into())
}

async fn asset_json(app: &App, key_id: &str, asset: &AssetInfo) -> Value {
    json!({
        "id": asset.id,
        "name": asset.name,
        "type": asset.file_type,
        "mime_type": asset.content_type,
        "size_bytes": asset.size,
        "owner": key_id,
        "space_id": key_id,
        "folder_id": null,
        "uploaded_at": asset.created_at,
        "url": app.store.url(&app.public_url, &asset.file).await,
    })
}

pub(crate) async fn list(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(params): Query<Params>,
) -> Result<Json<Value>, V3Error> {
    let assets = app.db.assets(&key_id).await?;
    let (assets, next_token) = page_of(&assets, |a| a.id.clone(), &params, PAGE.0, PAGE.1)?;
    let mut shown = Vec::with_capacity(assets.len());
    for asset in assets {
        shown.push(asset_json(&app, &key_id, asset).await);
    }
    Ok(list_page(shown, next_token))
}

fn not_found(asset_id: &str) -> ApiError {
    ApiError::not_found(format!("asset '{asset_id}' not found"))
}

pub(crate) async fn get(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(asset_id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    let asset = app.db.asset_info(&key_id, &asset_id).await?.ok_or_else(|| not_found(&asset_id))?;
    Ok(data(asset_json(&app, &key_id, &asset).await))
}

/// Removes an asset and its file, unless an avatar still speaks through it
/// (its photo): that avatar must go first.
pub(crate) async fn delete(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Path(asset_id): Path<String>,
) -> Result<Json<Value>, V3Error> {
    let asset = app.db.asset_info(&key_id, &asset_id).await?.ok_or_else(|| not_found(&asset_id))?;
    if let Some(avatar) = app.db.avatar_of_photo(&key_id, &asset_id).await? {
        return Err(ApiError::Conflict(format!(
            "asset '{asset_id}' is the photo of avatar '{avatar}'; delete the avatar first (DELETE /v3/avatars/{avatar})"
        ))
        .into());
    }
    app.db.delete_asset(&key_id, &asset_id).await?;
    if let Err(error) = app.store.delete(&asset.file).await {
        tracing::warn!(%error, file = asset.file, "cannot remove the file of a deleted asset");
    }
    Ok(data(json!({ "id": asset_id, "deleted": true })))
}
