DROP TABLE usage_resource_day;
