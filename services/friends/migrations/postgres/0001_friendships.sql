-- Each friendship is stored in both directions, so one user's friends are a contiguous range
-- of the primary key's index: listing them is an index range scan, in friend id order, with
-- no sort (an index-only scan once the table is vacuumed).
CREATE TABLE friendships (
    user_id    BIGINT NOT NULL CHECK (user_id > 0),
    friend_id  BIGINT NOT NULL CHECK (friend_id > 0),
    created_at BIGINT NOT NULL, -- microseconds since the Unix epoch, UTC
    PRIMARY KEY (user_id, friend_id),
    CHECK (user_id <> friend_id)
);
