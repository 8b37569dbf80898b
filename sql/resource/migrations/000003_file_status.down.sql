ALTER TABLE resource_files DROP COLUMN rejected_reason, DROP COLUMN status;
