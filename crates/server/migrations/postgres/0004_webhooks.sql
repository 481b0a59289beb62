-- Webhook endpoints a key registered, the callback_url a video asked for,
-- and the queue of deliveries (retried with backoff, never in a render's way).
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- comma-separated event names
    events TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE videos ADD COLUMN callback_url TEXT;

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    body TEXT NOT NULL,
    -- pending, delivered, failed
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
