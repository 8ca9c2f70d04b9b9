/**
 * Schema migrations of both backends, applied in id order by `@effect/sql`'s
 * Migrator and recorded in `effect_sql_migrations` (under a write lock on
 * SQLite, an advisory lock on PostgreSQL). Where the dialects' DDL differs
 * a migration says so with `sql.onDialectOrElse` (column types in
 * ./columnTypes.ts). Ids and names are those databases already record:
 * append new ones; never change what an applied one creates.
 */
import * as Migrator from "@effect/sql/Migrator"
import m0001 from "./0001_initial.js"
import m0002 from "./0002_flow_leases.js"
import m0003 from "./0003_grant_changes.js"
import m0004 from "./0004_audit_repeats.js"

export const loader = Migrator.fromRecord({
  "0001_initial": m0001,
  "0002_flow_leases": m0002,
  "0003_grant_changes": m0003,
  "0004_audit_repeats": m0004
})
