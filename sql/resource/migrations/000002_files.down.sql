DROP INDEX resources_deleted ON resources;
DROP TABLE resource_files;
