/**
 * The grant change log, through which processes sharing a SQLite file hear
 * of each other's grant changes (see ../SqliteGrantChanges.ts): a user id and
 * a time per change, never secrets. AUTOINCREMENT so ids never repeat, even
 * after every row was pruned: a reader compares them with the last one it
 * saw. Nothing on PostgreSQL, where grant changes travel by `NOTIFY` (see
 * ../PgGrantChanges.ts).
 */
import { Effect } from "effect"
import { columnTypes } from "./columnTypes.js"

export default Effect.gen(function* () {
  const { sql } = yield* columnTypes
  yield* sql.onDialectOrElse({
    pg: () => Effect.void,
    orElse: () =>
      Effect.zipRight(
        sql`CREATE TABLE grant_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  at INTEGER NOT NULL
)`,
        sql`CREATE INDEX grant_changes_at ON grant_changes (at)`
      )
  })
})
