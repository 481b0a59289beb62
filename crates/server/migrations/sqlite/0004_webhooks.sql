-- Webhook endpoints a key registered, the callback_url a video asked for,
-- and the queue of deliveries (retried with backoff, never in a render's way).
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- comma-separated event names
    events TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

ALTER TABLE videos ADD COLUMN callback_url TEXT;

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    body TEXT NOT NULL,
    -- pending, delivered, failed
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
