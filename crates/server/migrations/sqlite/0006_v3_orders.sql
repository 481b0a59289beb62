-- Avatars made from a photo given with a video order (v3 "image" videos,
-- v2 Avatar IV) are analysed like any other but left out of the lists.
ALTER TABLE avatar_groups ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;
-- A short idle clip of a trained avatar (its look's preview_video_url),
-- and the size of its photo, known once it is analysed.
ALTER TABLE avatar_groups ADD COLUMN preview_video_file TEXT;
ALTER TABLE avatar_groups ADD COLUMN image_width INTEGER;
ALTER TABLE avatar_groups ADD COLUMN image_height INTEGER;

-- Batches of videos ordered in one call (POST /v3/videos/batches); each
-- video of a batch knows its batch and its place in it.
CREATE TABLE video_batches (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    title TEXT,
    total INTEGER NOT NULL,
    -- Told once, when every video of the batch has finished.
    callback_url TEXT,
    announced_at INTEGER,
    created_at INTEGER NOT NULL
);
ALTER TABLE videos ADD COLUMN batch_id TEXT;
ALTER TABLE videos ADD COLUMN batch_index INTEGER;
CREATE INDEX videos_batch ON videos (batch_id, batch_index);

-- Every event announced to a key (GET /v3/webhooks/events), whether or not
-- an endpoint or callback received it.
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    event_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_events_by_key ON webhook_events (key_id, created_at);

-- Fair claiming: each job knows its key, and when it was last claimed, so
-- the next job goes to the key with the fewest running and the longest
-- wait since its last claim (round robin), not simply the oldest job.
ALTER TABLE jobs ADD COLUMN key_id TEXT;
ALTER TABLE jobs ADD COLUMN claimed_at INTEGER;
CREATE INDEX jobs_by_key ON jobs (key_id, state, claimed_at);
