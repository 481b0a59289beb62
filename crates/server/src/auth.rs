//! API keys: the `X-Api-Key` header (or, as HeyGen's v3 clients may send
//! it, `Authorization: Bearer <key>`) names the tenant of every call.

use crate::App;
use crate::error::{ApiError, for_path};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use sha2::{Digest, Sha256};

/// The tenant a request acts for: the id of its API key.
#[derive(Debug, Clone)]
pub(crate) struct Tenant(pub String);

pub(crate) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl FromRequestParts<App> for Tenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_string();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        let key = header("x-api-key").filter(|k| !k.is_empty()).or(bearer).unwrap_or("");
        if key.is_empty() {
            return Err(for_path(&path, ApiError::Unauthorized));
        }
        match app.db.key_id_for_hash(&hash_key(key)).await {
            Ok(Some(id)) => Ok(Tenant(id)),
            Ok(None) => Err(for_path(&path, ApiError::Unauthorized)),
            Err(error) => Err(for_path(&path, ApiError::internal(error))),
        }
    }
}
