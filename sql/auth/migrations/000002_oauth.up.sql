-- OAuth 2.1 clients and grants, access-token signing keys and API keys.
CREATE TABLE oauth_clients (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    client_type   text NOT NULL CHECK (client_type IN ('confidential', 'public')),
    secret_hash   bytea,
    redirect_uris text[] NOT NULL,
    grant_types   text[] NOT NULL,
    scopes        text[] NOT NULL,
    created_at    timestamptz NOT NULL
);

-- Codes live for a minute and are spent once; consumed_at makes reuse
-- detectable rather than indistinguishable from an unknown code.
CREATE TABLE oauth_codes (
    code_hash      bytea PRIMARY KEY,
    client_id      text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    scopes         text[] NOT NULL,
    code_challenge text NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    consumed_at    timestamptz
);

CREATE TABLE oauth_refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    client_id   text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes      text[] NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX oauth_refresh_tokens_family_idx ON oauth_refresh_tokens (family_id);

CREATE TABLE signing_keys (
    kid             text PRIMARY KEY,
    private_key     bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    retired_at      timestamptz,
    published_until timestamptz
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC);
