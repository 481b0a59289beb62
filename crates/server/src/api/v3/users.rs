//! `GET /v3/users/me`: the API key as a user. Its name is the username;
//! billing is "usage_based", counted in seconds of video: the key's quota
//! is its included credits and what is left of it its remaining credits
//! (both null for a key without a quota).

use super::data;
use crate::App;
use crate::auth::Tenant;
use crate::error::{ApiError, V3Error};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub(crate) async fn me(State(app): State<App>, Tenant(key_id): Tenant) -> Result<Json<Value>, V3Error> {
    let key = app.db.key(&key_id).await?.ok_or(ApiError::Unauthorized)?;
    let remaining = key.quota_seconds.map(|quota| (quota as f64 - key.used_seconds).max(0.0).floor());
    Ok(data(json!({
        "username": key.name,
        "email": null,
        "first_name": null,
        "last_name": null,
        "billing_type": "usage_based",
        "wallet": null,
        "subscription": null,
        "usage_based": {
            "included_credits": key.quota_seconds,
            "remaining_credits": remaining,
            "spending_cap_usd": null,
            "spending_current_usd": 0.0,
            "used_seconds": (key.used_seconds * 1000.0).round() / 1000.0,
        },
    })))
}
