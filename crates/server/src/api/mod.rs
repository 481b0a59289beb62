//! The HTTP routes, one module per API resource (v1/v2 here, v3 in
//! [`v3`]), the web app's files, and the JSON body extractor that answers
//! malformed bodies in HeyGen's error shape.

pub(crate) mod assets;
pub(crate) mod avatars;
mod files;
mod health;
mod openapi;
mod sessions;
mod users;
mod v3;
mod videos;
mod voices;
mod web;
mod webhooks;

use crate::App;
use crate::error::{ApiError, V2Error, for_path};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::response::Response;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use tower_http::services::ServeDir;

pub(crate) fn router(app: App) -> Router {
    let files = match app.store.local_root() {
        Some(root) => Router::new().fallback_service(ServeDir::new(root)),
        None => Router::new().route("/{*name}", get(files::from_store)).with_state(app.clone()),
    };
    Router::new()
        .route("/v1/asset", post(assets::upload).layer(DefaultBodyLimit::disable()))
        .route("/v2/photo_avatar/avatar_group/create", post(avatars::create_group))
        .route("/v2/photo_avatar/train", post(avatars::train))
        .route("/v2/photo_avatar/train/status/{group_id}", get(avatars::train_status))
        .route("/v2/avatar_group.list", get(avatars::list_groups))
        .route("/v2/avatar_group/{group_id}/avatars", get(avatars::group_avatars))
        .route("/v2/avatars", get(avatars::list_avatars))
        .route("/v1/talking_photo.list", get(avatars::list_talking_photos))
        .route("/v1/talking_photo/{id}", axum::routing::delete(avatars::delete_talking_photo))
        .route("/v2/photo_avatar/{id}", axum::routing::delete(avatars::delete_photo_avatar))
        .route("/v2/talking_photo/{id}", axum::routing::delete(avatars::delete_photo_avatar))
        .route("/v1/user/me", get(users::me))
        .route("/v1/video.list", get(videos::list))
        .route("/v1/webhook/endpoint.add", post(webhooks::add))
        .route("/v1/webhook/endpoint.list", get(webhooks::list))
        .route("/v1/webhook/endpoint.delete", axum::routing::delete(webhooks::delete))
        .route("/v1/webhook/webhook.list", get(webhooks::events))
        .route("/v2/user/remaining_quota", get(videos::remaining_quota))
        .route("/v1/video.delete", axum::routing::delete(videos::delete))
        .route("/v2/voices", get(voices::list))
        .route("/voice-previews/{file}", get(voices::preview))
        .route("/v2/video/generate", post(videos::generate))
        .route("/v2/video/av4/generate", post(videos::generate_av4))
        .route("/v1/video_status.get", get(videos::status))
        .route("/v1/sessions", get(sessions::list))
        .route("/v1/sessions/token", post(sessions::token))
        .route("/v1/sessions/start", post(sessions::start))
        .merge(live_host_routes())
        .merge(v3::routes(app.max_upload_bytes))
        .merge(health_routes())
        .route("/", get(web::page))
        .route("/app.js", get(web::script))
        .route("/app.css", get(web::style))
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(openapi::page))
        .route("/docs/swagger-ui-bundle.js", get(openapi::swagger_js))
        .route("/docs/swagger-ui.css", get(openapi::swagger_css))
        .nest("/files", files)
        .method_not_allowed_fallback(wrong_method)
        .fallback(unknown_route)
        .with_state(app)
}

/// The operators' endpoints, without a key: health and metrics.
fn health_routes() -> Router<App> {
    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics))
}

/// What the process running a live session answers, whether it has the
/// API or not: the session's media and control, and keep-alive and stop
/// passed on by a front end.
///
/// Browsers call these from the app's own page, another origin than the
/// worker's (WHEP sends `Authorization` and `application/sdp`, so the
/// browser asks first), hence CORS for any origin: the session token is a
/// bearer token, never a cookie, so no origin gains anything it was not given.
fn live_host_routes() -> Router<App> {
    use axum::http::{Method, header};
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::LOCATION]);
    // The browser's preflight is an OPTIONS request: a method of each route,
    // so that the CORS layer around the routes sees it (the router would
    // otherwise answer 405 before any layer).
    let preflight = || async { axum::http::StatusCode::NO_CONTENT };
    Router::new()
        .route("/v1/sessions/keep-alive", post(sessions::keep_alive).options(preflight))
        .route("/v1/sessions/stop", post(sessions::stop).options(preflight))
        .route("/v1/sessions/{id}/launch", post(sessions::launch))
        .route("/v1/sessions/{id}/whep", post(sessions::whep_offer).options(preflight))
        .route("/v1/sessions/{id}/whep/{viewer}", axum::routing::delete(sessions::whep_leave).options(preflight))
        .route("/v1/sessions/{id}/ws", get(sessions::socket))
        .layer(cors)
}

/// What a worker process answers (it has no API): the operators'
/// endpoints, and those of the live sessions it runs.
pub(crate) fn worker_router(app: App) -> Router {
    health_routes()
        .merge(live_host_routes())
        .method_not_allowed_fallback(wrong_method)
        .fallback(unknown_route)
        .with_state(app)
}

async fn unknown_route(request: Request) -> Response {
    let path = request.uri().path().to_string();
    let message = format!("{} {path} is not an endpoint of this server", request.method());
    for_path(&path, ApiError::not_found(message))
}

/// A path this server serves, called with a method it does not take.
async fn wrong_method(request: Request) -> Response {
    let path = request.uri().path().to_string();
    let message = format!("{path} does not take {}; see /docs for the methods it does", request.method());
    for_path(&path, ApiError::MethodNotAllowed(message))
}

/// A request parameter that must be given and not empty.
pub(crate) fn required(name: &str, value: Option<String>) -> Result<String, ApiError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
}

/// A JSON request body for a v2 endpoint; a malformed body is a 400 in the
/// v2 error shape with serde's explanation of what is wrong.
pub(crate) struct V2Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for V2Json<T> {
    type Rejection = V2Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(V2Json(value)),
            Err(rejection) => {
                Err(V2Error(ApiError::bad_request(format!("invalid JSON body: {}", rejection.body_text()))))
            }
        }
    }
}
