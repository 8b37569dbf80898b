-- Login throttling counts failures per key ("pair:<email>|<addr>",
-- "addr:<addr>", "account:<email>") and derives waits from them in the
-- domain; no lock is stored. The old rows held locks that an outsider could
-- set for everyone, so they are not carried over.
DROP TABLE login_throttle;
CREATE TABLE login_throttle (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    last_failure timestamptz NOT NULL
);
CREATE INDEX login_throttle_last_idx ON login_throttle (last_failure);
