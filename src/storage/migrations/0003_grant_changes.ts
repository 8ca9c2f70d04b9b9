/**
 * The grant change log, through which processes sharing the database file
 * hear of each other's grant changes (see ../SqliteGrantChanges.ts): a user
 * id and a time per change, never secrets. AUTOINCREMENT so ids never repeat,
 * even after every row was pruned: a reader compares them with the last one
 * it saw.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE grant_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  at INTEGER NOT NULL
)`
  yield* sql`CREATE INDEX grant_changes_at ON grant_changes (at)`
})
