DROP TABLE usage_minute;
DROP TABLE usage_raw;
