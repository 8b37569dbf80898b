-- Reads per resource per day, from the usage records (GET of a resource or
-- below it, answered 2xx): what top-resources reports rank.
CREATE TABLE usage_resource_day (
    day         DATE   NOT NULL,
    resource_id TEXT   NOT NULL,
    reads       BIGINT NOT NULL,
    PRIMARY KEY (day, resource_id)
);
