//! Server configuration, layered: built-in defaults, then a TOML file
//! (`--config`, `MOUTHPIECE_CONFIG`, or `mouthpiece.toml` in the working
//! directory), then environment variables, then command-line flags.

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;
use server::ServerConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "MOUTHPIECE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory for the database and files [default: ./data].
    #[arg(long, env = "MOUTHPIECE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Base URL clients reach this server at, for absolute file URLs
    /// [default: http://<listen>].
    #[arg(long, env = "MOUTHPIECE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Render workers in this process [default: 2].
    #[arg(long, env = "MOUTHPIECE_WORKERS")]
    workers: Option<usize>,
    /// Let webhooks, callbacks and fetched media URLs go to loopback and private addresses.
    #[arg(long, env = "MOUTHPIECE_ALLOW_PRIVATE_URLS")]
    allow_private_urls: bool,
    /// Largest upload or fetched file, in megabytes [default: 50].
    #[arg(long, env = "MOUTHPIECE_MAX_UPLOAD_MB")]
    max_upload_mb: Option<u64>,
    /// Configuration file (TOML with the same keys, snake_case).
    #[arg(long, env = "MOUTHPIECE_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    workers: Option<usize>,
    allow_private_urls: Option<bool>,
    max_upload_mb: Option<u64>,
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

impl ServeArgs {
    pub fn resolve(self) -> Result<ServerConfig> {
        let file = load_file(self.config.as_deref())?;
        let defaults = ServerConfig::default();
        Ok(ServerConfig {
            listen: self.listen.or(file.listen).unwrap_or(defaults.listen),
            data_dir: self.data_dir.or(file.data_dir).unwrap_or(defaults.data_dir),
            public_url: self.public_url.or(file.public_url),
            workers: self.workers.or(file.workers).unwrap_or(defaults.workers),
            allow_private_urls: self.allow_private_urls || file.allow_private_urls.unwrap_or(false),
            max_upload_bytes: self
                .max_upload_mb
                .or(file.max_upload_mb)
                .map_or(defaults.max_upload_bytes, |mb| mb.saturating_mul(1024 * 1024)),
        })
    }
}

/// The data directory for commands other than `serve`, from the same layers.
pub fn resolve_data_dir(flag: Option<PathBuf>, config: Option<&Path>) -> Result<PathBuf> {
    Ok(flag.or(load_file(config)?.data_dir).unwrap_or(ServerConfig::default().data_dir))
}
