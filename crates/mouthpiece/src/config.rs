//! Server and worker configuration, layered: built-in defaults, then a TOML
//! file (`--config`, `MOUTHPIECE_CONFIG`, or `mouthpiece.toml` in the
//! working directory), then environment variables, then command-line flags.

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;
use server::{LiveConfig, S3Config, ServerConfig, StoreConfig};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the data lives: what every command that reads it needs.
#[derive(Args)]
pub struct DataArgs {
    /// Directory for the embedded database, local files and scratch space [default: ./data].
    #[arg(long, env = "MOUTHPIECE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A shared database, postgres://user:password@host/name [default: SQLite in the data directory].
    #[arg(long, env = "MOUTHPIECE_DATABASE_URL")]
    database_url: Option<String>,
    /// Configuration file (TOML with the same keys, snake_case).
    #[arg(long, env = "MOUTHPIECE_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "MOUTHPIECE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Base URL clients reach the API at, for absolute file URLs
    /// [default: http://<listen>].
    #[arg(long, env = "MOUTHPIECE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Render workers in this process [default: 2; `serve` may have 0].
    #[arg(long, env = "MOUTHPIECE_WORKERS")]
    workers: Option<usize>,
    /// Let webhooks, callbacks and fetched media URLs go to loopback and private addresses.
    #[arg(long, env = "MOUTHPIECE_ALLOW_PRIVATE_URLS")]
    allow_private_urls: bool,
    /// Largest upload or fetched file, in megabytes [default: 50].
    #[arg(long, env = "MOUTHPIECE_MAX_UPLOAD_MB")]
    max_upload_mb: Option<u64>,
    /// Videos one key may have waiting in the queue; more are refused with 429 [default: 100].
    #[arg(long, env = "MOUTHPIECE_MAX_QUEUED_PER_KEY")]
    max_queued_per_key: Option<u64>,
    /// Keep files in this S3 bucket instead of the data directory.
    #[arg(long, env = "MOUTHPIECE_S3_BUCKET")]
    s3_bucket: Option<String>,
    /// URL of an S3-compatible server [default: AWS].
    #[arg(long, env = "MOUTHPIECE_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// The bucket's region [default: us-east-1].
    #[arg(long, env = "MOUTHPIECE_S3_REGION")]
    s3_region: Option<String>,
    /// Access key id [default: AWS_ACCESS_KEY_ID].
    #[arg(long, env = "MOUTHPIECE_S3_ACCESS_KEY_ID")]
    s3_access_key_id: Option<String>,
    /// Secret access key [default: AWS_SECRET_ACCESS_KEY].
    #[arg(long, env = "MOUTHPIECE_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    s3_secret_access_key: Option<String>,
    /// Give clients pre-signed bucket URLs for videos instead of URLs of this server.
    #[arg(long, env = "MOUTHPIECE_S3_PRESIGNED_URLS")]
    s3_presigned_urls: bool,
    /// On SIGTERM, seconds running jobs may take to finish before they are handed back [default: 20].
    #[arg(long, env = "MOUTHPIECE_SHUTDOWN_GRACE_SECONDS")]
    shutdown_grace_seconds: Option<u64>,
    /// The IP address live viewers' WebRTC reaches this machine at
    /// [default: the address of the default route, else 127.0.0.1].
    #[arg(long, env = "MOUTHPIECE_LIVE_HOST")]
    live_host: Option<IpAddr>,
    /// Longest a live session may run, in seconds [default: 600].
    #[arg(long, env = "MOUTHPIECE_LIVE_MAX_SECONDS")]
    live_max_seconds: Option<u64>,
    /// Live sessions this process runs at once [default: 12].
    #[arg(long, env = "MOUTHPIECE_LIVE_CAPACITY")]
    live_capacity: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    workers: Option<usize>,
    allow_private_urls: Option<bool>,
    max_upload_mb: Option<u64>,
    max_queued_per_key: Option<u64>,
    shutdown_grace_seconds: Option<u64>,
    live_host: Option<IpAddr>,
    live_max_seconds: Option<u64>,
    live_capacity: Option<usize>,
    s3: Option<FileS3>,
}

/// The `[s3]` table of the configuration file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileS3 {
    bucket: String,
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    presigned_urls: Option<bool>,
}

fn load_file(explicit: Option<&Path>) -> Result<FileConfig> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None if Path::new("mouthpiece.toml").exists() => PathBuf::from("mouthpiece.toml"),
        None => return Ok(FileConfig::default()),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

impl DataArgs {
    /// The data directory and the database URL (the embedded default in that directory).
    fn resolve(&self, file: &FileConfig) -> (PathBuf, Option<String>) {
        let data_dir =
            self.data_dir.clone().or_else(|| file.data_dir.clone()).unwrap_or(ServerConfig::default().data_dir);
        (data_dir, self.database_url.clone().or_else(|| file.database_url.clone()))
    }

    /// The database URL for commands other than `serve` and `worker`.
    pub fn database_url(&self) -> Result<String> {
        let file = load_file(self.config.as_deref())?;
        let (data_dir, url) = self.resolve(&file);
        Ok(url.unwrap_or_else(|| server::sqlite_url(&data_dir)))
    }
}

impl ServeArgs {
    pub fn resolve(self) -> Result<ServerConfig> {
        let file = load_file(self.data.config.as_deref())?;
        let (data_dir, database_url) = self.data.resolve(&file);
        let defaults = ServerConfig::default();
        let table = file.s3;
        let store = match self.s3_bucket.or_else(|| table.as_ref().map(|t| t.bucket.clone())) {
            None => StoreConfig::Local,
            Some(bucket) => {
                let from_file = |pick: fn(&FileS3) -> Option<String>| table.as_ref().and_then(pick);
                StoreConfig::S3(S3Config {
                    bucket,
                    endpoint: self.s3_endpoint.or_else(|| from_file(|t| t.endpoint.clone())),
                    region: self
                        .s3_region
                        .or_else(|| from_file(|t| t.region.clone()))
                        .unwrap_or_else(|| "us-east-1".into()),
                    access_key_id: self.s3_access_key_id.or_else(|| from_file(|t| t.access_key_id.clone())),
                    secret_access_key: self.s3_secret_access_key.or_else(|| from_file(|t| t.secret_access_key.clone())),
                    presigned_urls: self.s3_presigned_urls
                        || table.as_ref().and_then(|t| t.presigned_urls).unwrap_or(false),
                })
            }
        };
        if database_url.is_none() && matches!(store, StoreConfig::S3(_)) {
            bail!(
                "files in a shared S3 bucket need a shared database too: give --database-url postgres://… \
                 (the embedded SQLite database belongs to one machine)"
            );
        }
        Ok(ServerConfig {
            listen: self.listen.or(file.listen).unwrap_or(defaults.listen),
            data_dir,
            database_url,
            store,
            public_url: self.public_url.or(file.public_url),
            workers: self.workers.or(file.workers).unwrap_or(defaults.workers),
            shutdown_grace: self
                .shutdown_grace_seconds
                .or(file.shutdown_grace_seconds)
                .map_or(defaults.shutdown_grace, Duration::from_secs),
            allow_private_urls: self.allow_private_urls || file.allow_private_urls.unwrap_or(false),
            max_upload_bytes: self
                .max_upload_mb
                .or(file.max_upload_mb)
                .map_or(defaults.max_upload_bytes, |mb| mb.saturating_mul(1024 * 1024)),
            max_queued_per_key: self
                .max_queued_per_key
                .or(file.max_queued_per_key)
                .unwrap_or(defaults.max_queued_per_key),
            live: LiveConfig {
                host: self.live_host.or(file.live_host),
                max_session: self
                    .live_max_seconds
                    .or(file.live_max_seconds)
                    .map_or(defaults.live.max_session, Duration::from_secs),
                capacity: self.live_capacity.or(file.live_capacity).unwrap_or(defaults.live.capacity),
                ..defaults.live.clone()
            },
        })
    }
}

/// `mouthpiece worker`: the server's configuration (it needs the same
/// database, bucket and public URL) and where to answer health checks.
#[derive(Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Answer /healthz, /readyz and /metrics on this address (a worker has no API).
    #[arg(long, env = "MOUTHPIECE_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,
}
