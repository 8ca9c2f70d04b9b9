/**
 * Initial schema.
 *
 * Secrets live only in `*_enc` columns (AES-256-GCM, see Cipher.ts). Times are
 * epoch milliseconds. `scopes` / `requested_scopes` hold a JSON array of
 * scopes, or NULL for "no additional restriction".
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE grants (
  user_id TEXT PRIMARY KEY NOT NULL,
  login_name TEXT NOT NULL,
  nc_user_id TEXT NULL,
  app_password_enc TEXT NOT NULL,
  scopes TEXT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
)`
  yield* sql`CREATE TABLE login_flows (
  user_id TEXT PRIMARY KEY NOT NULL,
  poll_token_enc TEXT NOT NULL,
  poll_endpoint TEXT NOT NULL,
  login_url_enc TEXT NOT NULL,
  requested_scopes TEXT NULL,
  purpose TEXT NOT NULL CHECK (purpose IN ('provision', 'update')),
  elicitation_id TEXT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
)`
  yield* sql`CREATE INDEX login_flows_expires_at ON login_flows (expires_at)`
  yield* sql`CREATE TABLE flow_starts (
  user_id TEXT NOT NULL,
  at INTEGER NOT NULL
)`
  yield* sql`CREATE INDEX flow_starts_user_at ON flow_starts (user_id, at)`
  yield* sql`CREATE INDEX flow_starts_at ON flow_starts (at)`
  yield* sql`CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
)`
  yield* sql`CREATE INDEX audit_log_at ON audit_log (at)`
  yield* sql`CREATE INDEX audit_log_user_at ON audit_log (user_id, at)`
})
