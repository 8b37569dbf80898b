-- The W3C trace context of the request that wrote each event, so the
-- relay publishes it in the message headers and consumers continue the
-- request's trace (docs/operations.md, "Traces").
ALTER TABLE outbox ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '', ADD COLUMN trace_state TEXT NOT NULL DEFAULT '';
