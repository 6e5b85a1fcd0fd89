-- One database for every resource, related by foreign keys (enforced: the kit turns on
-- `PRAGMA foreign_keys` for every connection). Times are microseconds since the Unix epoch,
-- UTC, as in the services.

-- AUTOINCREMENT: a deleted user's id is never handed to someone else.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    avatar_url TEXT,
    created_at INTEGER NOT NULL
);

-- Friendship is symmetric and stored in both directions, so a user's friends are one index
-- range. Deleting either user deletes the row.
CREATE TABLE friendships (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    friend_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, friend_id),
    CHECK (user_id <> friend_id)
) WITHOUT ROWID;

-- The cascade from `users` looks rows up by `friend_id` too.
CREATE INDEX friendships_by_friend ON friendships (friend_id, user_id);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    created_at INTEGER NOT NULL
);

-- An author's messages newest first: every message read (page, latest, timeline) is a seek
-- into this index followed by a short forward scan.
CREATE INDEX messages_by_author_newest ON messages (author_id, created_at DESC, id DESC);
