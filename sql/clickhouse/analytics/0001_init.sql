-- The analytics store on ClickHouse (services/analytics; adapter in
-- pkg/adapters/clickhouse). Written for ClickHouse 18.16 and current
-- releases alike: no DateTime64, TTL, Map/JSON types, window functions or
-- query parameters. Exact times are kept as Int64 nanoseconds; the
-- whole-second DateTime columns that partitions, ranges and roll-ups use
-- are MATERIALIZED from them, so the two cannot disagree.

-- Raw gateway usage, kept for the raw retention period. The adapter
-- inserts only request ids not stored before; latency_bin is the
-- DDSketch bin of latency_ms (pkg/sketch.Bin) and read_resource the
-- resource a successful read names, both computed by the adapter so the
-- roll-ups below aggregate in the database with exactly the Go rules.
CREATE TABLE IF NOT EXISTS usage_raw (
    request_id    String,
    at_ns         Int64,
    at            DateTime('UTC') MATERIALIZED toDateTime(intDiv(at_ns, 1000000000), 'UTC'),
    route         String,
    method        String,
    path          String,
    status        UInt16,
    latency_ms    Float64,
    bytes_in      Int64,
    bytes_out     Int64,
    identity      String,
    client_id     String,
    latency_bin   Int32,
    read_resource String
) ENGINE = MergeTree PARTITION BY toYYYYMM(at) ORDER BY (request_id);

-- Roll-ups per step (minute, hour, day). Each insert into usage_raw adds
-- one partial row per key through the views below; SummingMergeTree folds
-- them in the background (latencyMap sums counts per bin), and reads sum
-- whatever is not folded yet, so a report never scans raw records.
CREATE TABLE IF NOT EXISTS usage_rollup (
    step         String,
    bucket       DateTime('UTC'),
    route        String,
    method       String,
    status_class UInt8,
    identity     String,
    client_id    String,
    requests     UInt64,
    errors       UInt64,
    bytes_in     Int64,
    bytes_out    Int64,
    latencyMap   Nested(bin Int32, count UInt64)
) ENGINE = SummingMergeTree PARTITION BY toYYYYMM(bucket) ORDER BY (step, bucket, identity, route, method, status_class, client_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_rollup_minute TO usage_rollup AS
SELECT 'minute' AS step, toStartOfMinute(at) AS bucket, route, method, toUInt8(intDiv(status, 100)) AS status_class, identity, client_id,
       count() AS requests, countIf(status >= 500) AS errors, sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out,
       groupArray(latency_bin) AS `latencyMap.bin`, arrayMap(b -> toUInt64(1), groupArray(latency_bin)) AS `latencyMap.count`
FROM usage_raw GROUP BY bucket, route, method, status_class, identity, client_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_rollup_hour TO usage_rollup AS
SELECT 'hour' AS step, toStartOfHour(at) AS bucket, route, method, toUInt8(intDiv(status, 100)) AS status_class, identity, client_id,
       count() AS requests, countIf(status >= 500) AS errors, sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out,
       groupArray(latency_bin) AS `latencyMap.bin`, arrayMap(b -> toUInt64(1), groupArray(latency_bin)) AS `latencyMap.count`
FROM usage_raw GROUP BY bucket, route, method, status_class, identity, client_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_rollup_day TO usage_rollup AS
SELECT 'day' AS step, toStartOfDay(at) AS bucket, route, method, toUInt8(intDiv(status, 100)) AS status_class, identity, client_id,
       count() AS requests, countIf(status >= 500) AS errors, sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out,
       groupArray(latency_bin) AS `latencyMap.bin`, arrayMap(b -> toUInt64(1), groupArray(latency_bin)) AS `latencyMap.count`
FROM usage_raw GROUP BY bucket, route, method, status_class, identity, client_id;

-- Successful reads per resource per day: what top-resources ranks.
CREATE TABLE IF NOT EXISTS usage_resource_day (
    day         Date,
    resource_id String,
    reads       UInt64
) ENGINE = SummingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (day, resource_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_resource_day_mv TO usage_resource_day AS
SELECT toDate(at) AS day, read_resource AS resource_id, count() AS reads
FROM usage_raw WHERE read_resource != '' GROUP BY day, resource_id;

-- The audit log: append-only and hash-chained (services/analytics/domain).
-- hash is hex; canonical is the event's RFC 8785 JSON, the bytes the hash
-- covers; the other columns are copies for filtering.
CREATE TABLE IF NOT EXISTS audit_log (
    seq         Int64,
    event_id    String,
    occurred_ns Int64,
    occurred_at DateTime('UTC') MATERIALIZED toDateTime(intDiv(occurred_ns, 1000000000), 'UTC'),
    actor       String,
    action      String,
    target      String,
    canonical   String,
    hash        String
) ENGINE = MergeTree ORDER BY seq;

-- Signed statements of the chain's head (Ed25519), hex-encoded.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq       Int64,
    hash      String,
    signed_ns Int64,
    key_id    String,
    signature String
) ENGINE = ReplacingMergeTree ORDER BY seq;

-- Keys that sign checkpoints; a private key (hex) only when generated here.
CREATE TABLE IF NOT EXISTS audit_signing_keys (
    key_id      String,
    public_key  String,
    private_key String,
    created_ns  Int64
) ENGINE = ReplacingMergeTree ORDER BY key_id
