DROP TABLE audit_signing_keys;
