//! `/files/{name}`: the stored files clients download (uploads, videos,
//! thumbnails, GIFs, captions). A local store's directory is served as it
//! is (`ServeDir`, with ranges). Files in a bucket are streamed through
//! this server, honouring a single `Range` so browsers can seek in a video;
//! with pre-signed URLs configured, clients get bucket URLs instead and
//! rarely come here.

use crate::App;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

/// The Content-Type of a stored file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "mp4" => "video/mp4",
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "srt" => "application/x-subrip",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// A single byte range of a file of `size` bytes, from a `Range` header:
/// `bytes=a-b`, `bytes=a-` or `bytes=-n`. None for anything else (the
/// whole file is sent, which the HTTP rules allow).
fn byte_range(header: &str, size: u64) -> Option<std::ops::Range<u64>> {
    let spec = header.strip_prefix("bytes=")?.trim();
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => size.saturating_sub(suffix.parse().ok()?)..size,
        (start, "") => start.parse().ok()?..size,
        (start, end) => start.parse().ok()?..end.parse::<u64>().ok()?.saturating_add(1).min(size),
    };
    (range.start < range.end).then_some(range)
}

pub(crate) async fn from_store(State(app): State<App>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let not_found = || crate::error::for_path("/files", ApiError::not_found(format!("no file '{name}'")));
    if name.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return not_found();
    }
    let size = match app.store.size(&name).await {
        Ok(size) => size,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return not_found(),
        Err(error) => return crate::error::for_path("/files", ApiError::from(error)),
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|v| byte_range(v, size));
    let (object, _) = match app.store.read_range(&name, range.clone()).await {
        Ok(read) => read,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return not_found(),
        Err(error) => return crate::error::for_path("/files", ApiError::from(error)),
    };
    let body = Body::from_stream(object.into_stream().map_err(std::io::Error::other));
    let mut response = (StatusCode::OK, body).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&name)));
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let length = match &range {
        Some(range) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", range.start, range.end - 1)) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            range.end - range.start
        }
        None => size,
    };
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_are_read_as_browsers_send_them() {
        assert_eq!(byte_range("bytes=0-", 100), Some(0..100));
        assert_eq!(byte_range("bytes=10-19", 100), Some(10..20));
        assert_eq!(byte_range("bytes=90-200", 100), Some(90..100));
        assert_eq!(byte_range("bytes=-10", 100), Some(90..100));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }
}
