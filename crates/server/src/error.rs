//! One error type for every handler, rendered in the reply shape of the
//! API version the client called: v3 replies `{error: {code, message,
//! param, doc_url}}`, v2 replies `{error: {code, message}, data: null}`,
//! v1 replies `{code, message, data: null}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub(crate) enum ApiError {
    BadRequest(String),
    /// A request field that is missing, of the wrong type or out of range:
    /// `param` names it (v3 replies carry it on its own).
    InvalidParameter {
        param: String,
        message: String,
    },
    Unauthorized,
    /// A live session's token is missing, wrong, or its session has ended.
    InvalidSessionToken,
    NotFound(String),
    /// The request clashes with what is stored (an asset an avatar uses).
    Conflict(String),
    MethodNotAllowed(String),
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    QuotaExceeded(String),
    /// The key has as many videos waiting as it may (`--max-queued-per-key`).
    TooManyQueued(String),
    /// A feature of HeyGen's this server does not have (voice cloning):
    /// the client's request is fine, but asks for what is not here.
    Unsupported(String),
    /// A part of the deployment the request needs is down or missing (no
    /// machine runs live sessions): worth trying again later.
    Unavailable(String),
    Internal(String),
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub(crate) fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidParameter { param: param.into(), message: message.into() }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(message.into())
    }

    /// The same error with `prefix` before its message (which scene, which field).
    pub(crate) fn prefixed(self, prefix: &str) -> Self {
        match self {
            ApiError::BadRequest(m) => ApiError::BadRequest(format!("{prefix}{m}")),
            ApiError::InvalidParameter { param, message } => {
                ApiError::InvalidParameter { param: format!("{prefix}{param}"), message }
            }
            ApiError::NotFound(m) => ApiError::NotFound(format!("{prefix}{m}")),
            ApiError::PayloadTooLarge(m) => ApiError::PayloadTooLarge(format!("{prefix}{m}")),
            other => other,
        }
    }

    /// The same error about `item` of a request (`video_inputs[1]`, a
    /// scene of a video; `videos[3]`, a video of a batch).
    pub(crate) fn in_item(self, item: &str) -> Self {
        match self {
            ApiError::InvalidParameter { param, message } => {
                ApiError::InvalidParameter { param: format!("{item}.{param}"), message }
            }
            other => other.prefixed(&format!("{item}: ")),
        }
    }

    /// Logs the detail and gives the client a message without internals.
    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        ApiError::Internal("the server failed to handle the request; try again, and report it if it persists".into())
    }

    fn parts(&self) -> (StatusCode, &'static str, u32, String) {
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "invalid_parameter", 400_100, m.clone()),
            ApiError::InvalidParameter { param, message } => {
                (StatusCode::BAD_REQUEST, "invalid_parameter", 400_100, format!("{param}: {message}"))
            }
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                400_112,
                "missing or invalid API key; send it in the X-Api-Key header (or as Authorization: Bearer <key>)"
                    .into(),
            ),
            ApiError::InvalidSessionToken => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                400_112,
                "missing, wrong or expired session token; send the session_token from POST /v1/sessions/token as \
                 Authorization: Bearer <token>"
                    .into(),
            ),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", 400_104, m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", 400_109, m.clone()),
            ApiError::MethodNotAllowed(m) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", 400_105, m.clone()),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", 400_113, m.clone()),
            ApiError::UnsupportedMediaType(m) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", 400_115, m.clone())
            }
            ApiError::QuotaExceeded(m) => (StatusCode::BAD_REQUEST, "quota_exceeded", 400_140, m.clone()),
            ApiError::TooManyQueued(m) => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", 400_129, m.clone()),
            ApiError::Unsupported(m) => (StatusCode::BAD_REQUEST, "unsupported_feature", 400_101, m.clone()),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", 500_503, m.clone()),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", 500_000, m.clone()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::internal(error)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(error: std::io::Error) -> Self {
        ApiError::internal(error)
    }
}

/// An [`ApiError`] in the v2 shape.
#[derive(Debug)]
pub(crate) struct V2Error(pub ApiError);

/// An [`ApiError`] in the v3 shape.
#[derive(Debug)]
pub(crate) struct V3Error(pub ApiError);

/// An [`ApiError`] in the v1 shape.
#[derive(Debug)]
pub(crate) struct V1Error(pub ApiError);

/// Lets `?` turn any error that becomes an [`ApiError`] into either shape.
macro_rules! into_shaped {
    ($($source:ty),*) => {$(
        impl From<$source> for V2Error {
            fn from(error: $source) -> Self {
                V2Error(error.into())
            }
        }
        impl From<$source> for V1Error {
            fn from(error: $source) -> Self {
                V1Error(error.into())
            }
        }
        impl From<$source> for V3Error {
            fn from(error: $source) -> Self {
                V3Error(error.into())
            }
        }
    )*};
}

into_shaped!(ApiError, sqlx::Error, std::io::Error);

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let (status, code, _, message) = self.0.parts();
        (status, Json(json!({"error": {"code": code, "message": message}, "data": null}))).into_response()
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let (status, _, code, message) = self.0.parts();
        (status, Json(json!({"code": code, "message": message, "data": null}))).into_response()
    }
}

/// Where the v3 error codes are explained.
const V3_ERROR_DOCS: &str = "/docs#v3-errors";

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let (status, code, _, message) = self.0.parts();
        // v3 names the offending field on its own, and the message without it.
        let (param, message) = match self.0 {
            ApiError::InvalidParameter { param, message } => (Some(param), message),
            _ => (None, message),
        };
        let error = json!({"code": code, "message": message, "param": param, "doc_url": V3_ERROR_DOCS});
        (status, Json(json!({ "error": error }))).into_response()
    }
}

/// Replies in the shape of the API version the path belongs to; used where
/// one piece of code serves them all (authentication, unknown routes).
pub(crate) fn for_path(path: &str, error: ApiError) -> Response {
    // LiveAvatar's session API answers errors in the v2 shape.
    if path.starts_with("/v1/") && !path.starts_with("/v1/sessions") {
        V1Error(error).into_response()
    } else if path.starts_with("/v3/") {
        V3Error(error).into_response()
    } else {
        V2Error(error).into_response()
    }
}
