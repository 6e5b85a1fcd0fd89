-- AUTOINCREMENT: a deleted message's id is never handed out again, so a paging cursor that
-- names a deleted message can only point at nothing, never at a newer message.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- A user id of the users service; this database cannot know whether the user exists.
    author_id  INTEGER NOT NULL CHECK (author_id > 0),
    text       TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    created_at INTEGER NOT NULL -- microseconds since the Unix epoch, UTC
);

-- Every read but the one by id walks this index: an author's messages newest first, ties on
-- created_at broken by the higher id, so `LIMIT n` reads n entries per author.
CREATE INDEX messages_author_recent ON messages (author_id, created_at DESC, id DESC);
