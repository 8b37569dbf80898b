-- A file's processing outcome: the processing service rejects files it
-- cannot read (file.rejected), and the resource service records that here.
ALTER TABLE resource_files
    ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'stored',
    ADD COLUMN rejected_reason VARCHAR(500) NULL;
