//! The process registry: every process that renders videos or runs live
//! sessions announces itself in the database every few seconds (its render
//! workers, the live sessions it can hold and holds, the URL its session
//! endpoints answer at), so that any front end can count the deployment's
//! workers and place a live session on the machine with the most room. A
//! process that stops cleanly leaves the registry at once; one that dies
//! drops out when its announcements stop.

use crate::App;
use crate::db::ProcessSeen;
use std::time::Duration;

/// How often a process announces itself.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);

/// This machine's name, for process ids and the registry.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A process's id in the registry: its machine, its pid and a few random
/// characters (pids repeat across machines and restarts).
pub(crate) fn process_id() -> String {
    format!("{}-{}-{}", host_name(), std::process::id(), &crate::db::new_id()[..6])
}

/// This process's place in the registry, while it runs.
pub(crate) struct Registration {
    app: App,
    announcing: tokio::task::JoinHandle<()>,
}

impl Registration {
    /// Announces the process, with its `threads` render workers, until
    /// stopped; none if it offers nothing (a front end without workers).
    pub(crate) fn start(app: App, threads: usize) -> Option<Registration> {
        if threads == 0 && app.live.capacity == 0 {
            return None;
        }
        let announcer = app.clone();
        let announcing = tokio::spawn(async move {
            let host = host_name();
            let hosting = announcer.live.capacity > 0;
            loop {
                let seen = ProcessSeen {
                    id: &announcer.process_id,
                    host: &host,
                    threads: threads as i64,
                    public_url: hosting.then_some(announcer.public_url.as_str()),
                    live_capacity: announcer.live.capacity as i64,
                    live_held: announcer.live.held() as i64,
                };
                if let Err(error) = announcer.db.worker_seen(&seen).await {
                    tracing::warn!(%error, "cannot announce this process in the registry");
                }
                tokio::time::sleep(ANNOUNCE_EVERY).await;
            }
        });
        Some(Registration { app, announcing })
    }

    /// Leaves the registry; the live sessions this process ran are
    /// recorded as ended.
    pub(crate) async fn stop(self) {
        self.announcing.abort();
        let app = &self.app;
        if let Err(error) = app.db.end_live_sessions_of_host(&app.process_id, "the machine running it shut down").await
        {
            tracing::warn!(%error, "cannot record this process's live sessions as ended");
        }
        let _ = app.db.worker_gone(&app.process_id).await;
    }
}
