-- Live avatar sessions, shared by every process of a deployment: any front
-- end can start, keep alive, stop or list a session, while the media runs
-- on the one process that hosts it (host_id, reachable at host_url).
CREATE TABLE live_sessions (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    token_hash TEXT NOT NULL,
    avatar_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    voice_id TEXT NOT NULL,
    video_quality TEXT NOT NULL,
    -- waiting (not started), connecting, connected, closed
    state TEXT NOT NULL DEFAULT 'waiting',
    viewers BIGINT NOT NULL DEFAULT 0,
    host_id TEXT,
    host_url TEXT,
    max_seconds BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT,
    end_reason TEXT
);
CREATE INDEX live_sessions_by_key ON live_sessions (key_id, ended_at);
CREATE INDEX live_sessions_by_host ON live_sessions (host_id, ended_at);

-- Each process announces the live sessions it can hold and holds, and the
-- URL its WHEP and WebSocket endpoints answer at.
ALTER TABLE workers ADD COLUMN public_url TEXT;
ALTER TABLE workers ADD COLUMN live_capacity BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN live_held BIGINT NOT NULL DEFAULT 0;
