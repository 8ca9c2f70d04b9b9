/**
 * Row leases on pending login flows, so that of several processes sharing
 * the database exactly one polls a given flow at a time (`claimFlows`).
 * `lease_until` is epoch milliseconds; both columns NULL = not leased.
 * PostgreSQL also gets an index in the claim's order carrying the columns the
 * claim filters on (SQLite has no INCLUDE columns).
 */
import { Effect } from "effect"
import { columnTypes } from "./columnTypes.js"

export default Effect.gen(function* () {
  const { millis, sql } = yield* columnTypes
  yield* sql`ALTER TABLE login_flows ADD COLUMN lease_owner TEXT NULL`
  yield* sql`ALTER TABLE login_flows ADD COLUMN lease_until ${millis} NULL`
  yield* sql.onDialectOrElse({
    pg: () => sql`CREATE INDEX login_flows_claim ON login_flows (created_at, user_id) INCLUDE (expires_at, lease_until)`,
    orElse: () => Effect.void
  })
})
