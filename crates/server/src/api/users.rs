//! `GET /v1/user/me`: who the API key is (its name is the username).

use crate::App;
use crate::auth::Tenant;
use crate::error::{ApiError, V1Error};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub(crate) async fn me(State(app): State<App>, Tenant(key_id): Tenant) -> Result<Json<Value>, V1Error> {
    let key = app.db.key(&key_id).await?.ok_or(ApiError::Unauthorized)?;
    Ok(Json(json!({"code": 100, "message": "Success", "data": {
        "username": key.name,
        "email": null,
        "first_name": null,
        "last_name": null,
    }})))
}
