-- Mouthpiece's embedded schema: keys, assets, avatars, videos and the job queue.

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- SHA-256 of the key; the key itself is shown once and never stored.
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE avatar_groups (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    name TEXT NOT NULL,
    image_asset_id TEXT NOT NULL REFERENCES assets(id),
    -- pending, training, ready, failed
    status TEXT NOT NULL,
    error_msg TEXT,
    rig_file TEXT,
    faces_found INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE videos (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    -- pending, processing, completed, failed
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error_code INTEGER,
    error_message TEXT,
    video_file TEXT,
    thumbnail_file TEXT,
    duration REAL,
    callback_id TEXT,
    title TEXT,
    started_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The work queue. A claim is a lease: a worker renews lease_until while it
-- works; a job whose lease ran out (its worker died) is claimed again.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    -- queued, running, done, failed
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);

CREATE INDEX jobs_claimable ON jobs (state, id);
CREATE INDEX videos_by_key ON videos (key_id, created_at);
