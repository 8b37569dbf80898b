-- The W3C trace context of the request that wrote each event, so the
-- relay publishes it in the message headers and consumers continue the
-- request's trace (docs/operations.md, "Traces"). A traceparent is 55
-- characters; a tracestate is cut at 512 (observe.TraceContext).
ALTER TABLE outbox
    ADD COLUMN trace_parent VARCHAR(55)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD COLUMN trace_state  VARCHAR(512) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '';
