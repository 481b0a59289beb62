-- A job retried after a failure waits until run_after (seconds since the
-- epoch), growing with each attempt, instead of being claimed again at once.
ALTER TABLE jobs ADD COLUMN run_after INTEGER NOT NULL DEFAULT 0;

-- Worker processes, each renewing seen_at while it runs: how many render
-- workers the whole deployment has, whichever process is asked.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    threads INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
);
