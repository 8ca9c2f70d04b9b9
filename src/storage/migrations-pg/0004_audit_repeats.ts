/**
 * Repeated audit entries counted into one row (as ../migrations/0004):
 * `count`, `last_at` (NULL = once, at `at`), and the series key
 * `repeat_key` / `repeat_window` (epoch ms of the window's start), unique
 * together with user and event; NULL on entries that are never coalesced
 * (NULLs never conflict).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE audit_log ADD COLUMN count integer NOT NULL DEFAULT 1`
  yield* sql`ALTER TABLE audit_log ADD COLUMN last_at bigint NULL`
  yield* sql`ALTER TABLE audit_log ADD COLUMN repeat_key text COLLATE "C" NULL`
  yield* sql`ALTER TABLE audit_log ADD COLUMN repeat_window bigint NULL`
  yield* sql`CREATE UNIQUE INDEX audit_log_repeats ON audit_log (user_id, event, repeat_key, repeat_window)`
})
