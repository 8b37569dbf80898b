DROP TABLE legacy_ids;
