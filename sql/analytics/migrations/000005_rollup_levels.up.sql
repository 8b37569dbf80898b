-- Roll-ups at three steps (minute, hour, day), so a report over a long
-- range reads one row per hour or day per key instead of one per minute.
-- Minute rows written before this migration have no hour or day rows.
ALTER TABLE usage_minute RENAME TO usage_rollup;
ALTER TABLE usage_rollup RENAME COLUMN minute TO bucket;
ALTER TABLE usage_rollup ADD COLUMN step TEXT NOT NULL DEFAULT 'minute';
ALTER TABLE usage_rollup ALTER COLUMN step DROP DEFAULT;
ALTER TABLE usage_rollup DROP CONSTRAINT usage_minute_pkey;
ALTER TABLE usage_rollup ADD PRIMARY KEY (step, bucket, route, method, status_class, identity, client_id);
DROP INDEX usage_minute_identity;
CREATE INDEX usage_rollup_identity ON usage_rollup (step, identity, bucket);
