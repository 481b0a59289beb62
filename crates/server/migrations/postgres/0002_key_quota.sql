-- An optional per-key quota, in seconds of finished video.
ALTER TABLE api_keys ADD COLUMN quota_seconds BIGINT;
