//! The live sessions this process hosts, by id: who asked for each (the
//! key), the session token that guards it, and once started the running
//! [`live::Session`]. Tokens live only in memory, as the sessions do: a
//! restart ends every session, and its tokens with it.

use rand::Rng;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits and addresses of live sessions.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The address viewers' WebRTC reaches this machine at; found from the
    /// default route when not given.
    pub host: Option<IpAddr>,
    /// The longest a session may run.
    pub max_session: Duration,
    /// A session ends after this long with no viewer and no keep-alive.
    pub idle: Duration,
    /// Sessions this process runs at once.
    pub capacity: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig { host: None, max_session: Duration::from_secs(600), idle: Duration::from_secs(60), capacity: 12 }
    }
}

/// A session asked for, started or not.
#[derive(Clone)]
pub(crate) struct LiveEntry {
    pub key_id: String,
    pub token_hash: String,
    pub avatar_id: String,
    pub mode: live::Mode,
    pub voice_id: String,
    pub quality: live::Quality,
    pub created_at: i64,
    pub asked: Instant,
    pub session: Option<live::Session>,
}

impl LiveEntry {
    fn ended(&self) -> bool {
        match &self.session {
            Some(session) => session.state() == live::SessionState::Closed,
            // A token nobody started in 10 minutes is dropped.
            None => self.asked.elapsed() > Duration::from_secs(600),
        }
    }
}

pub(crate) struct LiveSessions {
    pub config: LiveConfig,
    pub host: IpAddr,
    entries: Mutex<HashMap<String, LiveEntry>>,
}

impl LiveSessions {
    pub(crate) fn new(config: LiveConfig) -> LiveSessions {
        live::init();
        let host = config.host.unwrap_or_else(live::default_host);
        LiveSessions { config, host, entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveEntry>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, entry| !entry.ended());
        entries
    }

    /// Records a session asked for; returns its id and token.
    pub(crate) fn ask(&self, mut entry: LiveEntry) -> (String, String) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let token = hex::encode(rand::rng().random::<[u8; 32]>());
        entry.token_hash = crate::auth::hash_key(&token);
        self.entries().insert(id.clone(), entry);
        (id, token)
    }

    /// The session `id` if `token` is its token.
    pub(crate) fn authorised(&self, id: &str, token: &str) -> Option<LiveEntry> {
        let hash = crate::auth::hash_key(token);
        self.entries().get(id).filter(|entry| entry.token_hash == hash).cloned()
    }

    /// Sessions running now.
    pub(crate) fn running(&self) -> usize {
        self.entries().values().filter(|entry| entry.session.is_some()).count()
    }

    /// Stores the running session of `id`; false if it was started already.
    pub(crate) fn started(&self, id: &str, session: live::Session) -> bool {
        match self.entries().get_mut(id) {
            Some(entry) if entry.session.is_none() => {
                entry.session = Some(session);
                true
            }
            _ => false,
        }
    }

    /// Drops a session that never started.
    pub(crate) fn forget(&self, id: &str) {
        self.entries().remove(id);
    }

    /// The key's sessions, started or not, with their ids.
    pub(crate) fn of_key(&self, key_id: &str) -> Vec<(String, LiveEntry)> {
        let mut listed: Vec<(String, LiveEntry)> =
            self.entries().iter().filter(|(_, e)| e.key_id == key_id).map(|(id, e)| (id.clone(), e.clone())).collect();
        listed.sort_by_key(|(_, entry)| entry.created_at);
        listed
    }
}
