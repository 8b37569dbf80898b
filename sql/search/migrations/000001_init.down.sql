DROP TABLE search_chunks;
DROP TABLE search_sources;
DROP TABLE search_documents;
