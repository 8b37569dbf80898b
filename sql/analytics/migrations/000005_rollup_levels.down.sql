DELETE FROM usage_rollup WHERE step <> 'minute';
DROP INDEX usage_rollup_identity;
ALTER TABLE usage_rollup DROP CONSTRAINT usage_rollup_pkey;
ALTER TABLE usage_rollup DROP COLUMN step;
ALTER TABLE usage_rollup RENAME COLUMN bucket TO minute;
ALTER TABLE usage_rollup RENAME TO usage_minute;
ALTER TABLE usage_minute ADD PRIMARY KEY (minute, route, method, status_class, identity, client_id);
CREATE INDEX usage_minute_identity ON usage_minute (identity, minute);
