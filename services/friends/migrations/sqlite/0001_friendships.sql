-- Each friendship is stored in both directions, so one user's friends are a contiguous range
-- of the primary key: listing them is a range scan, in friend id order, with no sort.
-- WITHOUT ROWID clusters the table on that key, so a page of friends is a few adjacent pages
-- on disk rather than one row lookup per friend.
CREATE TABLE friendships (
    user_id    INTEGER NOT NULL CHECK (user_id > 0),
    friend_id  INTEGER NOT NULL CHECK (friend_id > 0),
    created_at INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC
    PRIMARY KEY (user_id, friend_id),
    CHECK (user_id <> friend_id)
) WITHOUT ROWID;
