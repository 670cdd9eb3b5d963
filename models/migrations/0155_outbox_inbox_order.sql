-- A parent's inbox reads newest first by when each message was made, then
-- by id (FindInbox: a seeded demo makes its past out of order of its days).
CREATE INDEX outbox_user_created ON outbox(user_id, created_at, id);
