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
    let (file_type, extension) = accepted(&content_type)?;
    let limit = app.max_upload_bytes;
    let announced = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(too_large(limit).into());
    }
    let received = receive(&app, extension, body.into_data_stream()).await?;
    if received.size == 0 {
        return Err(ApiError::bad_request("the request body is empty; send the file's bytes as the body").into());
    }
    let name = query.name.filter(|n| !n.trim().is_empty());
    let asset = register_asset(&app, &key_id, received, &content_type, file_type, name).await?;
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

/// What is said of a file over the size limit.
fn too_large(limit: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("files may be at most {} MB", limit / (1024 * 1024)))
}

/// Receives an upload straight to disk, a chunk at a time (an upload is
/// never held whole in memory), up to the size limit.
pub(crate) async fn receive<E: std::fmt::Display>(
    app: &App,
    extension: &str,
    chunks: impl futures_util::Stream<Item = Result<bytes::Bytes, E>>,
) -> Result<Received, ApiError> {
    use futures_util::StreamExt;
    let limit = app.max_upload_bytes;
    let mut incoming = Incoming::start(&app.store, extension, limit).await?;
    let mut chunks = std::pin::pin!(chunks);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("the upload was interrupted: {e}")))?;
        incoming.write(&chunk).await.map_err(|e| match e {
            IncomingError::TooLarge(_) => too_large(limit),
            IncomingError::Io(e) => ApiError::from(e),
        })?;
    }
    Ok(incoming.finish().await?)
}

/// What may be uploaded as `content_type`: its file type and extension.
pub(crate) fn accepted(content_type: &str) -> Result<(&'static str, &'static str), ApiError> {
    match ACCEPTED.iter().find(|(mime, _, _)| *mime == content_type) {
        Some(&(_, file_type, extension)) => Ok((file_type, extension)),
        None => {
            let accepted: Vec<&str> = ACCEPTED.iter().map(|a| a.0).collect();
            Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type '{content_type}' is not accepted; send one of {}",
                accepted.join(", ")
            )))
        }
    }
}

/// Makes a received file one of the tenant's assets, after reading it:
/// images must decode within the photo limits, audio and video must hold a
/// stream of their kind (the bytes must be what the Content-Type says). A
/// file that fails is refused and never enters the store.
pub(crate) async fn register_asset(
    app: &App,
    key_id: &str,
    received: Received,
    content_type: &str,
    file_type: &str,
    name: Option<String>,
) -> Result<Asset, ApiError> {
    let path = received.path.clone();
    let checked = if file_type == "image" {
        let studio = app.studio.clone();
        tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            studio.decode(&bytes).map(|_| ()).map_err(|e| e.to_string())
        })
        .await
    } else {
        let kind = if file_type == "audio" { "audio" } else { "video" };
        let content_type = content_type.to_string();
        tokio::task::spawn_blocking(move || match media::probe(&path) {
            Ok(info) if !info.streams_of(kind).is_empty() => Ok(()),
            _ => Err(format!("the file is not readable {content_type}: no {kind} stream found in it")),
        })
        .await
    };
    if let Err(message) = checked.map_err(ApiError::internal)? {
        return Err(ApiError::bad_request(message));
    }
    keep_file(app, key_id, &received.path, content_type, file_type, name).await
}

/// Puts a file in the store as one of the tenant's assets (named `name`,
/// else by its id); the file is checked already, or made by this server.
pub(crate) async fn keep_file(
    app: &App,
    key_id: &str,
    path: &std::path::Path,
    content_type: &str,
    file_type: &str,
    name: Option<String>,
) -> Result<Asset, ApiError> {
    let id = new_id();
    let file = format!("assets/{id}.{}", extension_for(content_type, file_type));
    let size = tokio::fs::metadata(path).await?.len();
    app.store.put_file(&file, path).await?;
    let asset = Asset { name: name.unwrap_or_else(|| id.clone()), id, file_type: file_type.to_string(), file };
    app.db.insert_asset(key_id, &asset, content_type, size).await?;
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
    let extension = extension_for(&content_type, file_type);
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
    let name = url.rsplit('/').next().filter(|n| !n.is_empty()).map(|n| n.chars().take(100).collect());
    register_asset(app, key_id, received, &content_type, file_type, name)
        .await
        .map_err(|e| e.prefixed(&format!("{field}: ")))
}

/// The extension a file of `file_type` said to be `content_type` is
/// stored under (the bytes decide what it is; this only names it).
fn extension_for<'a>(content_type: &str, file_type: &'a str) -> &'a str {
    ACCEPTED.iter().find(|(mime, kind, _)| *mime == content_type && *kind == file_type).map_or(file_type, |a| a.2)
}

/// Keeps `bytes` a request carried inline (in the request field `field`,
/// said to be `media_type`) as one of the tenant's assets of `file_type`,
/// checked as an upload is.
pub(crate) async fn keep_bytes(
    app: &App,
    key_id: &str,
    bytes: Vec<u8>,
    media_type: &str,
    file_type: &str,
    field: &str,
) -> Result<Asset, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::invalid(field, "is empty"));
    }
    let content_type = media_type.trim().to_ascii_lowercase();
    let extension = extension_for(&content_type, file_type);
    let chunk = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::from(bytes))]);
    let kept = async {
        let received = receive(app, extension, chunk).await?;
        register_asset(app, key_id, received, &content_type, file_type, None).await
    };
    kept.await.map_err(|e| e.prefixed(&format!("{field}: ")))
}

/// HeyGen's key for an uploaded image, used by avatar group creation.
pub(crate) fn image_key(asset_id: &str) -> String {
    format!("image/{asset_id}/original")
}

/// The asset id inside an image key (or the id itself, which some clients send).
pub(crate) fn asset_id_of_image_key(key: &str) -> &str {
    key.strip_prefix("image/").map(|rest| rest.split('/').next().unwrap_or(rest)).unwrap_or(key)
}
