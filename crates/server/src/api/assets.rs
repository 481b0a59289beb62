//! `POST /v1/asset`: uploads of photos (and audio and video for later
//! use), sent as the raw request body with its Content-Type.

use crate::App;
use crate::auth::Tenant;
use crate::db::{Asset, new_id};
use crate::error::{ApiError, V1Error};
use crate::store::{Incoming, IncomingError, Received};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};

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
    body: Body,
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
    let limit = app.max_upload_bytes;
    let too_large = || ApiError::PayloadTooLarge(format!("files may be at most {} MB", limit / (1024 * 1024)));
    let announced = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(too_large().into());
    }
    // Straight to disk, a chunk at a time: an upload is never held whole in memory.
    let id = new_id();
    let file = format!("assets/{id}.{extension}");
    let mut incoming = Incoming::start(&app.store, extension, limit).await?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("the upload was interrupted: {e}")))?;
        if let Some(data) = frame.data_ref() {
            incoming.write(data).await.map_err(|e| match e {
                IncomingError::TooLarge(_) => too_large(),
                IncomingError::Io(e) => ApiError::from(e),
            })?;
        }
    }
    let received = incoming.finish().await?;
    if received.size == 0 {
        return Err(ApiError::bad_request("the request body is empty; send the file's bytes as the body").into());
    }
    let stored = Stored { id, file, received, content_type };
    let name = query.name.filter(|n| !n.trim().is_empty());
    let asset = register_asset(&app, &key_id, stored, file_type, name).await?;
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

/// A received file that is not an asset yet, and the name it will have.
struct Stored {
    id: String,
    file: String,
    received: Received,
    content_type: String,
}

/// Makes a received file one of the tenant's assets, after reading it:
/// images must decode within the photo limits, audio and video must hold a
/// stream of their kind (the bytes must be what the Content-Type says). A
/// file that fails is refused and never enters the store.
async fn register_asset(
    app: &App,
    key_id: &str,
    stored: Stored,
    file_type: &str,
    name: Option<String>,
) -> Result<Asset, ApiError> {
    let path = stored.received.path.clone();
    let checked = if file_type == "image" {
        let studio = app.studio.clone();
        tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            studio.decode(&bytes).map(|_| ()).map_err(|e| e.to_string())
        })
        .await
    } else {
        let kind = if file_type == "audio" { "audio" } else { "video" };
        let content_type = stored.content_type.clone();
        tokio::task::spawn_blocking(move || match media::probe(&path) {
            Ok(info) if !info.streams_of(kind).is_empty() => Ok(()),
            _ => Err(format!("the file is not readable {content_type}: no {kind} stream found in it")),
        })
        .await
    };
    if let Err(message) = checked.map_err(ApiError::internal)? {
        return Err(ApiError::bad_request(message));
    }
    app.store.put_file(&stored.file, &stored.received.path).await?;
    let Stored { id, file, received, content_type } = stored;
    let size = received.size;
    let asset = Asset { id: id.clone(), name: name.unwrap_or(id), file_type: file_type.to_string(), file };
    app.db.insert_asset(key_id, &asset, &content_type, size).await?;
    Ok(asset)
}

/// An asset a request names either by id or by URL, and the request
/// fields each came from (for the error messages).
pub(crate) struct Named<'a> {
    pub id: Option<&'a str>,
    pub url: Option<&'a str>,
    pub id_field: &'a str,
    pub url_field: &'a str,
}

/// The tenant's asset of `file_type` that a request names: an upload by
/// id, or a URL fetched now and kept as one.
pub(crate) async fn named_asset(app: &App, key_id: &str, named: Named<'_>, file_type: &str) -> Result<Asset, ApiError> {
    let asset = match (named.id, named.url) {
        (Some(id), _) => app
            .db
            .asset(key_id, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("{} '{id}' not found", named.id_field)))?,
        (None, Some(url)) => fetch_asset(app, key_id, url, file_type, named.url_field).await?,
        (None, None) => {
            return Err(ApiError::bad_request(format!(
                "give {} (the id of an uploaded {file_type}, see POST /v1/asset) or {}",
                named.id_field, named.url_field
            )));
        }
    };
    if asset.file_type != file_type {
        return Err(ApiError::bad_request(format!(
            "{}: asset {} is {}, not {file_type}",
            named.id_field, asset.id, asset.file_type
        )));
    }
    Ok(asset)
}

/// How long fetching a client's URL may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Fetches `url` (given in the request field `field`) into the store, as
/// one of the tenant's assets of `file_type` ("audio" or "image"), so the
/// render reads it like an upload. Servers often say
/// application/octet-stream, so the bytes decide what it is; the
/// Content-Type only names the stored file.
pub(crate) async fn fetch_asset(
    app: &App,
    key_id: &str,
    url: &str,
    file_type: &str,
    field: &str,
) -> Result<Asset, ApiError> {
    let refused = |e: String| ApiError::bad_request(format!("{field}: {e}"));
    let limit = app.max_upload_bytes;
    let (mut response, content_type) =
        crate::outbound::get(url, app.allow_private_urls, limit, FETCH_TIMEOUT).await.map_err(refused)?;
    let extension =
        ACCEPTED.iter().find(|(mime, kind, _)| *mime == content_type && *kind == file_type).map_or(file_type, |a| a.2);
    let id = new_id();
    let file = format!("assets/{id}.{extension}");
    let mut incoming = Incoming::start(&app.store, extension, limit).await?;
    while let Some(chunk) = response.chunk().await.map_err(|e| refused(format!("cannot fetch '{url}': {e}")))? {
        incoming.write(&chunk).await.map_err(|e| match e {
            IncomingError::TooLarge(_) => refused(format!("'{url}' is larger than {} MB", limit / (1024 * 1024))),
            IncomingError::Io(e) => ApiError::from(e),
        })?;
    }
    let received = incoming.finish().await?;
    if received.size == 0 {
        return Err(refused(format!("'{url}' is empty")));
    }
    let stored = Stored { id, file, received, content_type };
    let name = url.rsplit('/').next().filter(|n| !n.is_empty()).map(|n| n.chars().take(100).collect());
    register_asset(app, key_id, stored, file_type, name).await.map_err(|e| e.prefixed(&format!("{field}: ")))
}

/// HeyGen's key for an uploaded image, used by avatar group creation.
pub(crate) fn image_key(asset_id: &str) -> String {
    format!("image/{asset_id}/original")
}

/// The asset id inside an image key (or the id itself, which some clients send).
pub(crate) fn asset_id_of_image_key(key: &str) -> &str {
    key.strip_prefix("image/").map(|rest| rest.split('/').next().unwrap_or(rest)).unwrap_or(key)
}
