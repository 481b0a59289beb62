//! The HeyGen-compatible HTTP service and its render workers. On the
//! embedded default everything is in one process: a SQLite database and a
//! local data directory, with workers inside `serve`. In distributed mode
//! any number of `serve` front ends and `worker` processes share a Postgres
//! database and an S3-compatible bucket; the same code runs, with the other
//! implementation of the repository and the store.
//!
//! Layout: `api/` has one module per API resource; `db` is the repository
//! (the only code that writes SQL); `orders` checks and queues a video
//! order whatever API version it came through; `store` keeps files; `worker` claims
//! jobs from the queue and runs the pipeline; `live` places and steers live
//! sessions and `registry` announces each process to the others; `error`
//! turns every failure into HeyGen's reply shapes.

mod api;
mod auth;
mod db;
mod error;
mod live;
mod metrics;
mod orders;
mod outbound;
mod registry;
mod store;
mod webhooks;
mod worker;

use pipeline::Studio;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Notify;

pub use db::{Backend, Db, sqlite_url};
pub use live::LiveConfig;
pub use store::{S3Config, StoreConfig};

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
    #[error("configuration: {0}")]
    Config(String),
}

/// How the server runs. Every field has a default, so `mouthpiece serve`
/// with no flags works.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The embedded database, the local store and the scratch space.
    pub data_dir: PathBuf,
    /// `postgres://…` for a shared database; the SQLite file in `data_dir`
    /// when not given.
    pub database_url: Option<String>,
    pub store: StoreConfig,
    /// Base of the absolute URLs handed to clients (`video_url` etc.).
    /// Defaults to `http://<listen address>`.
    pub public_url: Option<String>,
    /// Render workers inside this process (`serve` may run none, leaving
    /// the work to `worker` processes).
    pub workers: usize,
    /// On SIGTERM, how long running jobs may take to finish before they are
    /// handed back to the queue for another worker.
    pub shutdown_grace: Duration,
    /// Let webhooks and callbacks go to loopback, private and link-local
    /// addresses (off by default: they reach into the server's own network).
    pub allow_private_urls: bool,
    /// Largest file a client may upload or have fetched, in bytes.
    pub max_upload_bytes: u64,
    /// Videos one key may have waiting in the queue before more are refused.
    pub max_queued_per_key: u64,
    /// Live avatar sessions.
    pub live: LiveConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            store: StoreConfig::Local,
            public_url: None,
            workers: 2,
            shutdown_grace: Duration::from_secs(20),
            allow_private_urls: false,
            max_upload_bytes: 50 * 1024 * 1024,
            max_queued_per_key: 100,
            live: LiveConfig::default(),
        }
    }
}

impl ServerConfig {
    /// The database URL, with the embedded default filled in.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| sqlite_url(&self.data_dir))
    }
}

/// State shared by handlers and workers.
pub(crate) struct AppState {
    /// This process's id in the registry (its workers' ids start with it).
    pub process_id: String,
    pub db: Db,
    pub store: store::Store,
    pub public_url: String,
    pub studio: Arc<Studio>,
    /// Wakes idle workers as soon as a job is queued.
    pub jobs_queued: Arc<Notify>,
    /// Wakes the webhook sender as soon as an event is queued.
    pub deliveries_queued: Notify,
    pub allow_private_urls: bool,
    pub max_upload_bytes: u64,
    pub max_queued_per_key: u64,
    pub metrics: metrics::Metrics,
    pub live: live::LiveSessions,
}

pub(crate) type App = Arc<AppState>;

/// Creates an API key in the database at `database_url` and returns it;
/// the key is shown only now, the database keeps its hash.
/// `quota_seconds` caps the seconds of video the key may make.
pub async fn create_key(database_url: &str, name: &str, quota_seconds: Option<i64>) -> Result<String, ServerError> {
    let db = Db::connect(database_url).await?;
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

pub async fn list_keys(database_url: &str) -> Result<Vec<KeyInfo>, ServerError> {
    Ok(Db::connect(database_url).await?.keys().await?)
}

/// Brings the database to the current schema (every command does so when
/// it connects; this does only that) and returns the migrations it has:
/// (version, description).
pub async fn migrate(database_url: &str) -> Result<Vec<(i64, String)>, ServerError> {
    Ok(Db::connect(database_url).await?.applied_migrations().await?)
}

/// Revokes the key with this id; false if there is none (or it already was).
pub async fn revoke_key(database_url: &str, id: &str) -> Result<bool, ServerError> {
    Ok(Db::connect(database_url).await?.revoke_key(id).await?)
}

/// Serves until the process is stopped (Ctrl-C or SIGTERM).
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    serve_on(listener, config).await
}

/// Serves on an already bound listener (lets tests pick a free port).
pub async fn serve_on(listener: tokio::net::TcpListener, config: ServerConfig) -> Result<(), ServerError> {
    let address = listener.local_addr()?;
    let app = start(&config, address, Role::Api).await?;
    if app.db.backend() == Backend::Sqlite && config.workers > 0 {
        // The embedded database's only workers are this process's.
        let recovered = app.db.requeue_abandoned_jobs().await?;
        if recovered > 0 {
            tracing::info!(recovered, "requeued jobs left running by a previous process");
        }
    }
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let workers = worker::Pool::start(app.clone(), config.workers, stopping);
    let registration = registry::Registration::start(app.clone(), config.workers);
    tracing::info!(%address, workers = config.workers, live_capacity = app.live.capacity, "listening");
    let shutdown = {
        let app = app.clone();
        // Live sessions end first: their WebSockets close, so the graceful
        // shutdown does not wait for them.
        async move {
            shutdown_signal().await;
            app.live.stop_all();
        }
    };
    axum::serve(listener, api::router(app)).with_graceful_shutdown(shutdown).await?;
    let _ = stop.send(true);
    workers.stop(config.shutdown_grace).await;
    if let Some(registration) = registration {
        registration.stop().await;
    }
    Ok(())
}

/// Runs `config.workers` render workers (at least one) without the API,
/// until SIGTERM or Ctrl-C; then lets running jobs finish within
/// `config.shutdown_grace` and hands the rest back to the queue. With
/// `http_listener`, also answers `/healthz`, `/readyz` and `/metrics`, and
/// runs live sessions (up to `config.live.capacity`) whose WHEP and
/// WebSocket endpoints answer there (at `config.public_url`, by default the
/// listener's address).
pub async fn work(config: ServerConfig, http_listener: Option<tokio::net::TcpListener>) -> Result<(), ServerError> {
    let address = match &http_listener {
        Some(listener) => listener.local_addr()?,
        None => config.listen,
    };
    let app = start(&config, address, Role::Worker { http: http_listener.is_some() }).await?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let workers = worker::Pool::start(app.clone(), config.workers.max(1), stopping);
    let registration = registry::Registration::start(app.clone(), config.workers.max(1));
    if let Some(listener) = http_listener {
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, api::worker_router(app)).await {
                tracing::error!(%error, "the worker's HTTP endpoint stopped");
            }
        });
    }
    shutdown_signal().await;
    tracing::info!("stopping: no new jobs; running ones may finish");
    app.live.stop_all();
    let _ = stop.send(true);
    workers.stop(config.shutdown_grace).await;
    if let Some(registration) = registration {
        registration.stop().await;
    }
    Ok(())
}

/// What a process is, which decides whether it runs live sessions.
#[derive(Clone, Copy)]
enum Role {
    /// `serve`: runs them on the embedded database (it is the only
    /// process) or when it renders too; a pure front end carries no media.
    Api,
    /// `worker`: runs them when it has an HTTP endpoint to answer at.
    Worker { http: bool },
}

/// What `serve` and `worker` share: the database, the store, the models,
/// the webhook sender and the wake-up for idle workers. `address` is where
/// the process answers HTTP, the base of its URLs unless `public_url` is set.
async fn start(config: &ServerConfig, address: SocketAddr, role: Role) -> Result<App, ServerError> {
    let public_url =
        config.public_url.clone().unwrap_or_else(|| format!("http://{address}")).trim_end_matches('/').to_string();
    // Every HTTPS client of the process (fetches, webhooks, the S3 store)
    // uses rustls with ring, installed before any of them is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    media::check_tools()?;
    let db = Db::connect(&config.database_url()).await?;
    let hosts_live = match role {
        Role::Api => db.backend() == Backend::Sqlite || config.workers > 0,
        Role::Worker { http } => http,
    };
    let store = store::Store::open(&config.store, &config.data_dir)?;
    let studio = Arc::new(tokio::task::spawn_blocking(Studio::new).await.map_err(std::io::Error::other)??);
    let app: App = Arc::new(AppState {
        process_id: registry::process_id(),
        db,
        store,
        public_url,
        studio,
        jobs_queued: Arc::new(Notify::new()),
        deliveries_queued: Notify::new(),
        allow_private_urls: config.allow_private_urls,
        max_upload_bytes: config.max_upload_bytes,
        max_queued_per_key: config.max_queued_per_key,
        metrics: metrics::Metrics::new(),
        live: live::LiveSessions::new(config.live.clone(), hosts_live),
    });
    app.db.listen_for_jobs(app.jobs_queued.clone());
    tokio::spawn(webhooks::run(app.clone()));
    tokio::task::spawn_blocking(|| {
        if let Err(error) = speech::neural::preload() {
            tracing::warn!(%error, "videos with the neural voice will fail");
        }
    });
    Ok(app)
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
