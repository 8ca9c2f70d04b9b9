/**
 * Initial schema on PostgreSQL: the tables and columns of the SQLite schema.
 *
 * Secrets live only in `*_enc` columns (AES-256-GCM, see Cipher.ts), the same
 * ciphertexts as on SQLite. Times are epoch milliseconds (`bigint`).
 * `scopes` / `requested_scopes` hold a JSON array of scopes (`jsonb`), or SQL
 * NULL for "no additional restriction"; `audit_log.detail` is a JSON object.
 * Key columns are compared and ordered byte-wise (`COLLATE "C"`), as SQLite does.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE grants (
  user_id text COLLATE "C" PRIMARY KEY,
  login_name text NOT NULL,
  nc_user_id text NULL,
  app_password_enc text NOT NULL,
  scopes jsonb NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
)`
  yield* sql`CREATE TABLE login_flows (
  user_id text COLLATE "C" PRIMARY KEY,
  poll_token_enc text NOT NULL,
  poll_endpoint text NOT NULL,
  login_url_enc text NOT NULL,
  requested_scopes jsonb NULL,
  purpose text NOT NULL CHECK (purpose IN ('provision', 'update')),
  elicitation_id text NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
)`
  yield* sql`CREATE INDEX login_flows_expires_at ON login_flows (expires_at)`
  yield* sql`CREATE TABLE flow_starts (
  user_id text COLLATE "C" NOT NULL,
  at bigint NOT NULL
)`
  yield* sql`CREATE INDEX flow_starts_user_at ON flow_starts (user_id, at)`
  yield* sql`CREATE INDEX flow_starts_at ON flow_starts (at)`
  yield* sql`CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at bigint NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  event text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
)`
  yield* sql`CREATE INDEX audit_log_at ON audit_log (at)`
  yield* sql`CREATE INDEX audit_log_user_at ON audit_log (user_id, at)`
})
