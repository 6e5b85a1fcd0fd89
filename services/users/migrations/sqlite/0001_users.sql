-- AUTOINCREMENT: a deleted user's id is never handed to someone else, so a stale friend id
-- elsewhere can only point at nobody, never at a stranger.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    avatar_url TEXT,
    created_at INTEGER NOT NULL -- microseconds since the Unix epoch, UTC
);
