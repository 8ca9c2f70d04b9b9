/**
 * PostgreSQL schema migrations, applied in id order by `@effect/sql`'s
 * Migrator (recorded in `effect_sql_migrations` of the storage schema) under
 * an advisory lock, see PgStorage.ts. Ids and names follow ../migrations so
 * both backends describe the same schema version. Append new ones; never
 * edit applied ones.
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
