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
    let failed = |error: std::io::Error| match error.kind() {
        std::io::ErrorKind::NotFound => not_found(),
        _ => crate::error::for_path("/files", ApiError::from(error)),
    };
    // The size is asked for first only when a range needs it.
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(asked) => match app.store.size(&name).await {
            Ok(size) => byte_range(asked, size),
            Err(error) => return failed(error),
        },
        None => None,
    };
    let object = match app.store.read_range(&name, range.clone()).await {
        Ok(object) => object,
        Err(error) => return failed(error),
    };
    let size = object.meta.size;
    // The same Content-Type a local store's ServeDir gives.
    let content_type = mime_guess::from_path(&name).first_or_octet_stream();
    let body = Body::from_stream(object.into_stream().map_err(std::io::Error::other));
    let mut response = (StatusCode::OK, body).into_response();
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type.as_ref()) {
        response_headers.insert(header::CONTENT_TYPE, value);
    }
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
