ALTER TABLE outbox DROP COLUMN trace_parent, DROP COLUMN trace_state;
