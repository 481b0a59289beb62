//! `mouthpiece`: the command line. Renders videos, runs the
//! HeyGen-compatible server, lists voices, makes API keys and measures speed.

mod bench;
mod bench_live;
mod config;
mod render;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    /// Run render workers only, sharing the server's database and bucket.
    Worker(config::WorkerArgs),
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
        #[command(flatten)]
        data: config::DataArgs,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; it is printed alone on the last line.
    Create {
        #[command(flatten)]
        data: config::DataArgs,
        /// A label for the key.
        #[arg(long, default_value = "default")]
        name: String,
        /// Seconds of finished video the key may make (no limit if left out).
        #[arg(long)]
        quota_seconds: Option<i64>,
    },
    /// List keys: id, name, created, quota and use (never the keys themselves).
    List {
        #[command(flatten)]
        data: config::DataArgs,
    },
    /// Revoke a key by its id (from `keys list`); it stops working at once.
    Revoke {
        id: String,
        #[command(flatten)]
        data: config::DataArgs,
    },
}

/// Runs the command; a failure is one plain line, `error: …` with its
/// causes, and exit code 1 (never a backtrace, whatever RUST_BACKTRACE says).
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}");
            eprintln!("error: {}", message.split_whitespace().collect::<Vec<_>>().join(" "));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
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
        Command::Worker(args) => {
            let health_listen = args.health_listen;
            let config = args.serve.resolve()?;
            runtime()?.block_on(async move {
                let listener = match health_listen {
                    Some(address) => Some(tokio::net::TcpListener::bind(address).await?),
                    None => None,
                };
                server::work(config, listener).await.map_err(anyhow::Error::from)
            })?;
            // Jobs still running were handed back; their threads go with the process.
            std::process::exit(0)
        }
        Command::Voices { language } => {
            list_voices(language.as_deref());
            Ok(())
        }
        Command::Keys { command: KeysCommand::Create { data, name, quota_seconds } } => {
            if quota_seconds.is_some_and(|q| q < 0) {
                anyhow::bail!("--quota-seconds must be 0 or more");
            }
            let database = data.database_url()?;
            let key = runtime()?.block_on(server::create_key(&database, &name, quota_seconds))?;
            println!("API key created in {} (store it now; it is not shown again):", redacted(&database));
            println!("{key}");
            Ok(())
        }
        Command::Keys { command: KeysCommand::List { data } } => {
            let keys = runtime()?.block_on(server::list_keys(&data.database_url()?))?;
            println!("{:<32} {:<16} {:<10} {:>10} {:>10}", "ID", "NAME", "STATE", "QUOTA_S", "USED_S");
            for key in keys {
                let state = if key.revoked_at.is_some() { "revoked" } else { "active" };
                let quota = key.quota_seconds.map_or("-".to_string(), |q| q.to_string());
                println!("{:<32} {:<16} {:<10} {:>10} {:>10.1}", key.id, key.name, state, quota, key.used_seconds);
            }
            Ok(())
        }
        Command::Keys { command: KeysCommand::Revoke { id, data } } => {
            if !runtime()?.block_on(server::revoke_key(&data.database_url()?, &id))? {
                anyhow::bail!("no active key with id {id}; `mouthpiece keys list` shows them");
            }
            println!("revoked {id}");
            Ok(())
        }
        Command::Bench(args) => bench::run(args),
        Command::Migrate { data } => {
            for (version, description) in runtime()?.block_on(server::migrate(&data.database_url()?))? {
                println!("{version} {description}");
            }
            Ok(())
        }
    }
}

/// A database URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
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
