//! The HeyGen-compatible HTTP service on its embedded default: a SQLite
//! database and a local data directory, with render workers inside the
//! process.
//!
//! Layout: `api/` has one module per API resource; `db` is the repository
//! (the only code that writes SQL); `store` keeps files; `worker` claims
//! jobs from the queue and runs the pipeline; `error` turns every failure
//! into HeyGen's reply shapes.

mod api;
mod auth;
mod db;
mod error;
mod metrics;
mod outbound;
mod store;
mod webhooks;
mod worker;

use pipeline::Studio;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::Notify;

pub use db::Db;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Pipeline(#[from] pipeline::PipelineError),
    #[error(transparent)]
    Media(#[from] media::MediaError),
}

/// How the server runs. Every field has a default, so `mouthpiece serve`
/// with no flags works.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Base of the absolute URLs handed to clients (`video_url` etc.).
    /// Defaults to `http://<listen address>`.
    pub public_url: Option<String>,
    /// Render workers inside this process.
    pub workers: usize,
    /// Let webhooks and callbacks go to loopback, private and link-local
    /// addresses (off by default: they reach into the server's own network).
    pub allow_private_urls: bool,
    /// Largest file a client may upload or have fetched, in bytes.
    pub max_upload_bytes: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            workers: 2,
            allow_private_urls: false,
            max_upload_bytes: 50 * 1024 * 1024,
        }
    }
}

/// State shared by handlers and workers.
pub(crate) struct AppState {
    pub db: Db,
    pub store: store::FileStore,
    pub public_url: String,
    pub studio: Arc<Studio>,
    /// Wakes idle workers as soon as a job is queued.
    pub jobs_queued: Notify,
    /// Wakes the webhook sender as soon as an event is queued.
    pub deliveries_queued: Notify,
    pub allow_private_urls: bool,
    pub max_upload_bytes: u64,
    pub metrics: metrics::Metrics,
}

pub(crate) type App = Arc<AppState>;

/// Creates an API key in the database of `data_dir` and returns it; the
/// key is shown only now, the database keeps its hash. `quota_seconds`
/// caps the seconds of video the key may make.
pub async fn create_key(
    data_dir: &std::path::Path,
    name: &str,
    quota_seconds: Option<i64>,
) -> Result<String, ServerError> {
    let db = Db::open(data_dir).await?;
    Ok(db.create_key(name, quota_seconds).await?)
}

/// An API key as operators see it (never the key itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub quota_seconds: Option<i64>,
    pub used_seconds: f64,
}

pub async fn list_keys(data_dir: &std::path::Path) -> Result<Vec<KeyInfo>, ServerError> {
    Ok(Db::open(data_dir).await?.keys().await?)
}

/// Brings the database of `data_dir` to the current schema (every command
/// does so when it opens it; this does only that) and returns the
/// migrations it has: (version, description).
pub async fn migrate(data_dir: &std::path::Path) -> Result<Vec<(i64, String)>, ServerError> {
    Ok(Db::open(data_dir).await?.applied_migrations().await?)
}

/// Revokes the key with this id; false if there is none (or it already was).
pub async fn revoke_key(data_dir: &std::path::Path, id: &str) -> Result<bool, ServerError> {
    Ok(Db::open(data_dir).await?.revoke_key(id).await?)
}

/// Serves until the process is stopped (Ctrl-C or SIGTERM).
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    serve_on(listener, config).await
}

/// Serves on an already bound listener (lets tests pick a free port).
pub async fn serve_on(listener: tokio::net::TcpListener, config: ServerConfig) -> Result<(), ServerError> {
    media::check_tools()?;
    let address = listener.local_addr()?;
    let public_url =
        config.public_url.clone().unwrap_or_else(|| format!("http://{address}")).trim_end_matches('/').to_string();
    let db = Db::open(&config.data_dir).await?;
    let recovered = db.requeue_abandoned_jobs().await?;
    if recovered > 0 {
        tracing::info!(recovered, "requeued jobs left running by a previous process");
    }
    let studio = Arc::new(tokio::task::spawn_blocking(Studio::new).await.map_err(std::io::Error::other)??);
    let app: App = Arc::new(AppState {
        db,
        store: store::FileStore::new(config.data_dir.join("files"))?,
        public_url,
        studio,
        jobs_queued: Notify::new(),
        deliveries_queued: Notify::new(),
        allow_private_urls: config.allow_private_urls,
        max_upload_bytes: config.max_upload_bytes,
        metrics: metrics::Metrics::new(),
    });
    app.metrics.workers.set(config.workers.max(1) as i64);
    tokio::spawn(webhooks::run(app.clone()));
    tokio::task::spawn_blocking(|| {
        if let Err(error) = speech::neural::preload() {
            tracing::warn!(%error, "videos with the neural voice will fail");
        }
    });
    for index in 0..config.workers.max(1) {
        tokio::spawn(worker::run(app.clone(), format!("{}-{index}", std::process::id())));
    }
    tracing::info!(%address, "listening");
    axum::serve(listener, api::router(app)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
