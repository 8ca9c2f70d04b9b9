/**
 * Initial schema.
 *
 * Secrets live only in `*_enc` columns (AES-256-GCM, see ../Cipher.ts), the
 * same ciphertexts on both backends. Times are epoch milliseconds.
 * `scopes` / `requested_scopes` hold a JSON array of scopes, or NULL for "no
 * additional restriction"; `audit_log.detail` is a JSON object.
 */
import { Effect } from "effect"
import { columnTypes } from "./columnTypes.js"

export default Effect.gen(function* () {
  const { json, key, millis, serialKey, sql } = yield* columnTypes
  yield* sql`CREATE TABLE grants (
  user_id ${key} PRIMARY KEY NOT NULL,
  login_name TEXT NOT NULL,
  nc_user_id TEXT NULL,
  app_password_enc TEXT NOT NULL,
  scopes ${json} NULL,
  created_at ${millis} NOT NULL,
  updated_at ${millis} NOT NULL
)`
  yield* sql`CREATE TABLE login_flows (
  user_id ${key} PRIMARY KEY NOT NULL,
  poll_token_enc TEXT NOT NULL,
  poll_endpoint TEXT NOT NULL,
  login_url_enc TEXT NOT NULL,
  requested_scopes ${json} NULL,
  purpose TEXT NOT NULL CHECK (purpose IN ('provision', 'update')),
  elicitation_id TEXT NULL,
  created_at ${millis} NOT NULL,
  expires_at ${millis} NOT NULL
)`
  yield* sql`CREATE INDEX login_flows_expires_at ON login_flows (expires_at)`
  yield* sql`CREATE TABLE flow_starts (
  user_id ${key} NOT NULL,
  at ${millis} NOT NULL
)`
  yield* sql`CREATE INDEX flow_starts_user_at ON flow_starts (user_id, at)`
  yield* sql`CREATE INDEX flow_starts_at ON flow_starts (at)`
  yield* sql`CREATE TABLE audit_log (
  id ${serialKey},
  at ${millis} NOT NULL,
  user_id ${key} NOT NULL,
  event TEXT NOT NULL,
  detail ${json} NOT NULL DEFAULT '{}'
)`
  yield* sql`CREATE INDEX audit_log_at ON audit_log (at)`
  yield* sql`CREATE INDEX audit_log_user_at ON audit_log (user_id, at)`
})
