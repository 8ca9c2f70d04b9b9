/**
 * The schema migrations as released before the two backends shared one
 * migration set: the DDL each backend ran, statement by statement, under the
 * same ids and names. A database migrated with these must open with today's
 * migrations as already migrated, its data intact (see legacySchema.test.ts).
 * Frozen: never edit.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Record } from "effect"

const SQLITE: Record<string, ReadonlyArray<string>> = {
  "0001_initial": [
    `CREATE TABLE grants (
  user_id TEXT PRIMARY KEY NOT NULL,
  login_name TEXT NOT NULL,
  nc_user_id TEXT NULL,
  app_password_enc TEXT NOT NULL,
  scopes TEXT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
)`,
    `CREATE TABLE login_flows (
  user_id TEXT PRIMARY KEY NOT NULL,
  poll_token_enc TEXT NOT NULL,
  poll_endpoint TEXT NOT NULL,
  login_url_enc TEXT NOT NULL,
  requested_scopes TEXT NULL,
  purpose TEXT NOT NULL CHECK (purpose IN ('provision', 'update')),
  elicitation_id TEXT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
)`,
    `CREATE INDEX login_flows_expires_at ON login_flows (expires_at)`,
    `CREATE TABLE flow_starts (
  user_id TEXT NOT NULL,
  at INTEGER NOT NULL
)`,
    `CREATE INDEX flow_starts_user_at ON flow_starts (user_id, at)`,
    `CREATE INDEX flow_starts_at ON flow_starts (at)`,
    `CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
)`,
    `CREATE INDEX audit_log_at ON audit_log (at)`,
    `CREATE INDEX audit_log_user_at ON audit_log (user_id, at)`
  ],
  "0002_flow_leases": [
    `ALTER TABLE login_flows ADD COLUMN lease_owner TEXT NULL`,
    `ALTER TABLE login_flows ADD COLUMN lease_until INTEGER NULL`
  ],
  "0003_grant_changes": [
    `CREATE TABLE grant_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  at INTEGER NOT NULL
)`,
    `CREATE INDEX grant_changes_at ON grant_changes (at)`
  ],
  "0004_audit_repeats": [
    `ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1`,
    `ALTER TABLE audit_log ADD COLUMN last_at INTEGER NULL`,
    `ALTER TABLE audit_log ADD COLUMN repeat_key TEXT NULL`,
    `ALTER TABLE audit_log ADD COLUMN repeat_window INTEGER NULL`,
    `CREATE UNIQUE INDEX audit_log_repeats ON audit_log (user_id, event, repeat_key, repeat_window)`
  ]
}

const PG: Record<string, ReadonlyArray<string>> = {
  "0001_initial": [
    `CREATE TABLE grants (
  user_id text COLLATE "C" PRIMARY KEY,
  login_name text NOT NULL,
  nc_user_id text NULL,
  app_password_enc text NOT NULL,
  scopes jsonb NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
)`,
    `CREATE TABLE login_flows (
  user_id text COLLATE "C" PRIMARY KEY,
  poll_token_enc text NOT NULL,
  poll_endpoint text NOT NULL,
  login_url_enc text NOT NULL,
  requested_scopes jsonb NULL,
  purpose text NOT NULL CHECK (purpose IN ('provision', 'update')),
  elicitation_id text NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
)`,
    `CREATE INDEX login_flows_expires_at ON login_flows (expires_at)`,
    `CREATE TABLE flow_starts (
  user_id text COLLATE "C" NOT NULL,
  at bigint NOT NULL
)`,
    `CREATE INDEX flow_starts_user_at ON flow_starts (user_id, at)`,
    `CREATE INDEX flow_starts_at ON flow_starts (at)`,
    `CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at bigint NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  event text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
)`,
    `CREATE INDEX audit_log_at ON audit_log (at)`,
    `CREATE INDEX audit_log_user_at ON audit_log (user_id, at)`
  ],
  "0002_flow_leases": [
    `ALTER TABLE login_flows ADD COLUMN lease_owner text NULL`,
    `ALTER TABLE login_flows ADD COLUMN lease_until bigint NULL`,
    `CREATE INDEX login_flows_claim ON login_flows (created_at, user_id) INCLUDE (expires_at, lease_until)`
  ],
  "0003_grant_changes": [],
  "0004_audit_repeats": [
    `ALTER TABLE audit_log ADD COLUMN count integer NOT NULL DEFAULT 1`,
    `ALTER TABLE audit_log ADD COLUMN last_at bigint NULL`,
    `ALTER TABLE audit_log ADD COLUMN repeat_key text COLLATE "C" NULL`,
    `ALTER TABLE audit_log ADD COLUMN repeat_window bigint NULL`,
    `CREATE UNIQUE INDEX audit_log_repeats ON audit_log (user_id, event, repeat_key, repeat_window)`
  ]
}

const loaderOf = (ddl: Record<string, ReadonlyArray<string>>) =>
  Migrator.fromRecord(
    Record.map(ddl, (statements) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(statements, (s) => sql.unsafe(s), { discard: true }))
    )
  )

export const legacySqliteLoader = loaderOf(SQLITE)
export const legacyPgLoader = loaderOf(PG)
