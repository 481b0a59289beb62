//! `mouthpiece`: the command line. Renders videos, runs the
//! HeyGen-compatible server, lists voices, makes API keys and measures speed.

mod bench;
mod config;
mod render;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "mouthpiece", version, about = "Talking-photo videos from one portrait and some text, on a plain CPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render one video from a photo and text.
    Render(render::RenderArgs),
    /// Run the HeyGen-compatible API server with its render workers.
    Serve(config::ServeArgs),
    /// List the voices (voice_id, language, gender, name).
    Voices {
        /// Only voices whose language or locale contains this (e.g. "German", "en-").
        #[arg(long)]
        language: Option<String>,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Time each stage of a 10-second video and compare with encoding alone.
    Bench(bench::BenchArgs),
    /// Bring the database to the current schema and list its migrations.
    Migrate {
        #[arg(long, env = "MOUTHPIECE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "MOUTHPIECE_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; it is printed alone on the last line.
    Create {
        #[arg(long, env = "MOUTHPIECE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// A label for the key.
        #[arg(long, default_value = "default")]
        name: String,
        /// Seconds of finished video the key may make (no limit if left out).
        #[arg(long)]
        quota_seconds: Option<i64>,
        #[arg(long, env = "MOUTHPIECE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// List keys: id, name, created, quota and use (never the keys themselves).
    List {
        #[arg(long, env = "MOUTHPIECE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "MOUTHPIECE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Revoke a key by its id (from `keys list`); it stops working at once.
    Revoke {
        id: String,
        #[arg(long, env = "MOUTHPIECE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "MOUTHPIECE_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOUTHPIECE_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Render(args) => render::run(args),
        Command::Serve(args) => {
            let config = args.resolve()?;
            runtime()?.block_on(server::serve(config))?;
            Ok(())
        }
        Command::Voices { language } => {
            list_voices(language.as_deref());
            Ok(())
        }
        Command::Keys { command: KeysCommand::Create { data_dir, name, quota_seconds, config } } => {
            if quota_seconds.is_some_and(|q| q < 0) {
                anyhow::bail!("--quota-seconds must be 0 or more");
            }
            let data_dir = config::resolve_data_dir(data_dir, config.as_deref())?;
            let key = runtime()?.block_on(server::create_key(&data_dir, &name, quota_seconds))?;
            println!("API key created in {} (store it now; it is not shown again):", data_dir.display());
            println!("{key}");
            Ok(())
        }
        Command::Keys { command: KeysCommand::List { data_dir, config } } => {
            let data_dir = config::resolve_data_dir(data_dir, config.as_deref())?;
            let keys = runtime()?.block_on(server::list_keys(&data_dir))?;
            println!("{:<32} {:<16} {:<10} {:>10} {:>10}", "ID", "NAME", "STATE", "QUOTA_S", "USED_S");
            for key in keys {
                let state = if key.revoked_at.is_some() { "revoked" } else { "active" };
                let quota = key.quota_seconds.map_or("-".to_string(), |q| q.to_string());
                println!("{:<32} {:<16} {:<10} {:>10} {:>10.1}", key.id, key.name, state, quota, key.used_seconds);
            }
            Ok(())
        }
        Command::Keys { command: KeysCommand::Revoke { id, data_dir, config } } => {
            let data_dir = config::resolve_data_dir(data_dir, config.as_deref())?;
            if !runtime()?.block_on(server::revoke_key(&data_dir, &id))? {
                anyhow::bail!("no active key with id {id}; `mouthpiece keys list` shows them");
            }
            println!("revoked {id}");
            Ok(())
        }
        Command::Bench(args) => bench::run(args),
        Command::Migrate { data_dir, config } => {
            let data_dir = config::resolve_data_dir(data_dir, config.as_deref())?;
            for (version, description) in runtime()?.block_on(server::migrate(&data_dir))? {
                println!("{version} {description}");
            }
            Ok(())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn list_voices(language: Option<&str>) {
    let filter = language.map(str::to_lowercase);
    println!("{:<16} {:<12} {:<8} NAME", "VOICE_ID", "LANGUAGE", "GENDER");
    for voice in speech::voices() {
        let matches = filter.as_ref().is_none_or(|f| {
            voice.language.to_lowercase().contains(f.as_str()) || voice.locale.to_lowercase().contains(f.as_str())
        });
        if matches {
            println!("{:<16} {:<12} {:<8} {}", voice.voice_id, voice.language, voice.gender.as_str(), voice.name);
        }
    }
}
