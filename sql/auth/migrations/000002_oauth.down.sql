DROP TABLE api_keys;
DROP TABLE signing_keys;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_codes;
DROP TABLE oauth_clients;
