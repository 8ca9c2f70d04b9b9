/**
 * Repeated audit entries (refusals) counted into one row per user, event,
 * key and time window (`auditCoalesced`), so a client retrying a refused
 * call thousands of times leaves a handful of rows, not thousands.
 * `count` is how many times the entry happened; `last_at` when it last did
 * (NULL = once, at `at`). `repeat_key` / `repeat_window` (epoch ms of the
 * window's start) identify the series; both NULL on entries that are never
 * coalesced, which the unique index then never matches.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1`
  yield* sql`ALTER TABLE audit_log ADD COLUMN last_at INTEGER NULL`
  yield* sql`ALTER TABLE audit_log ADD COLUMN repeat_key TEXT NULL`
  yield* sql`ALTER TABLE audit_log ADD COLUMN repeat_window INTEGER NULL`
  yield* sql`CREATE UNIQUE INDEX audit_log_repeats ON audit_log (user_id, event, repeat_key, repeat_window)`
})
