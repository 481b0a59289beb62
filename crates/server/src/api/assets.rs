//! `POST /v1/asset`: uploads of photos (and audio and video for later
//! use), sent as the raw request body with its Content-Type.

use crate::App;
use crate::auth::Tenant;
use crate::db::{Asset, new_id};
use crate::error::{ApiError, V1Error};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) const MAX_ASSET_BYTES: usize = 50 * 1024 * 1024;

/// (Content-Type, file type, extension) of what may be uploaded.
const ACCEPTED: &[(&str, &str, &str)] = &[
    ("image/png", "image", "png"),
    ("image/jpeg", "image", "jpg"),
    ("image/webp", "image", "webp"),
    ("audio/mpeg", "audio", "mp3"),
    ("audio/wav", "audio", "wav"),
    ("audio/x-wav", "audio", "wav"),
    ("audio/mp4", "audio", "m4a"),
    ("audio/x-m4a", "audio", "m4a"),
    ("video/mp4", "video", "mp4"),
];

#[derive(Deserialize)]
pub(crate) struct UploadQuery {
    name: Option<String>,
}

pub(crate) async fn upload(
    State(app): State<App>,
    Tenant(key_id): Tenant,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, V1Error> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let Some(&(_, file_type, extension)) = ACCEPTED.iter().find(|(mime, _, _)| *mime == content_type) else {
        let accepted: Vec<&str> = ACCEPTED.iter().map(|a| a.0).collect();
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type '{content_type}' is not accepted; send one of {}",
            accepted.join(", ")
        ))
        .into());
    };
    let body = body.map_err(|rejection| {
        ApiError::PayloadTooLarge(format!(
            "the upload could not be read ({}); files may be at most {} MB",
            rejection.body_text(),
            MAX_ASSET_BYTES / (1024 * 1024)
        ))
    })?;
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty; send the file's bytes as the body").into());
    }
    let name = query.name.filter(|n| !n.trim().is_empty());
    let asset = store_asset(&app, &key_id, &body, &content_type, file_type, extension, name).await?;
    let file = &asset.file;
    Ok(Json(json!({
        "code": 100,
        "message": "Success",
        "data": {
            "id": asset.id,
            "name": asset.name,
            "file_type": asset.file_type,
            "url": format!("{}/files/{file}", app.public_url),
            "image_key": if file_type == "image" { Some(image_key(&asset.id)) } else { None },
        }
    })))
}

/// Stores a file as one of the tenant's assets. It is checked first by
/// reading it: images must decode within the photo limits, audio and video
/// must hold a stream of their kind (the bytes must be what the Content-Type
/// says); a file that fails is refused and leaves nothing behind.
pub(crate) async fn store_asset(
    app: &App,
    key_id: &str,
    body: &[u8],
    content_type: &str,
    file_type: &str,
    extension: &str,
    name: Option<String>,
) -> Result<Asset, ApiError> {
    if file_type == "image" {
        // Refuse unreadable or out-of-limit photos now, not when training.
        let studio = app.studio.clone();
        let bytes = body.to_vec();
        tokio::task::spawn_blocking(move || studio.decode(&bytes).map(|_| ()))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let id = new_id();
    let file = format!("assets/{id}.{extension}");
    app.store.put(&file, body).await?;
    if file_type != "image" {
        let path = app.store.path(&file);
        let kind = if file_type == "audio" { "audio" } else { "video" };
        let probed = tokio::task::spawn_blocking(move || media::probe(&path)).await.map_err(ApiError::internal)?;
        let readable = probed.map(|info| !info.streams_of(kind).is_empty()).unwrap_or(false);
        if !readable {
            let _ = tokio::fs::remove_file(app.store.path(&file)).await;
            return Err(ApiError::bad_request(format!(
                "the file is not readable {content_type}: no {kind} stream found in it"
            )));
        }
    }
    let asset = Asset { id: id.clone(), name: name.unwrap_or(id), file_type: file_type.to_string(), file };
    app.db.insert_asset(key_id, &asset, content_type, body.len()).await?;
    Ok(asset)
}

/// How long fetching a client's URL may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Fetches `url` (given in the request field `field`) and keeps it as one of
/// the tenant's assets of `file_type` ("audio" or "image"), so the render
/// reads it like an upload. Servers often say application/octet-stream, so
/// the bytes decide: the Content-Type only names the stored file.
pub(crate) async fn fetch_asset(
    app: &App,
    key_id: &str,
    url: &str,
    file_type: &str,
    field: &str,
) -> Result<Asset, ApiError> {
    let prefix = format!("{field}: ");
    let fetched = crate::outbound::fetch(url, app.allow_private_urls, MAX_ASSET_BYTES, FETCH_TIMEOUT)
        .await
        .map_err(|e| ApiError::bad_request(format!("{prefix}{e}")))?;
    let extension = ACCEPTED
        .iter()
        .find(|(mime, kind, _)| *mime == fetched.content_type && *kind == file_type)
        .map_or(file_type, |a| a.2);
    let name = url.rsplit('/').next().filter(|n| !n.is_empty()).map(|n| n.chars().take(100).collect());
    store_asset(app, key_id, &fetched.bytes, &fetched.content_type, file_type, extension, name)
        .await
        .map_err(|e| e.prefixed(&prefix))
}

/// HeyGen's key for an uploaded image, used by avatar group creation.
pub(crate) fn image_key(asset_id: &str) -> String {
    format!("image/{asset_id}/original")
}

/// The asset id inside an image key (or the id itself, which some clients send).
pub(crate) fn asset_id_of_image_key(key: &str) -> &str {
    key.strip_prefix("image/").map(|rest| rest.split('/').next().unwrap_or(rest)).unwrap_or(key)
}
