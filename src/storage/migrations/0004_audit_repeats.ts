/**
 * Repeated audit entries (refusals) counted into one row per user, event,
 * key and time window (`auditCoalesced`), so a client retrying a refused
 * call thousands of times leaves a handful of rows, not thousands.
 * `count` is how many times the entry happened; `last_at` when it last did
 * (NULL = once, at `at`). `repeat_key` / `repeat_window` (epoch ms of the
 * window's start) identify the series; both NULL on entries that are never
 * coalesced, which the unique index then never matches (NULLs never conflict).
 */
import { Effect } from "effect"
import { columnTypes } from "./columnTypes.js"

export default Effect.gen(function* () {
  const { key, millis, sql } = yield* columnTypes
  yield* sql`ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1`
  yield* sql`ALTER TABLE audit_log ADD COLUMN last_at ${millis} NULL`
  yield* sql`ALTER TABLE audit_log ADD COLUMN repeat_key ${key} NULL`
  yield* sql`ALTER TABLE audit_log ADD COLUMN repeat_window ${millis} NULL`
  yield* sql`CREATE UNIQUE INDEX audit_log_repeats ON audit_log (user_id, event, repeat_key, repeat_window)`
})
