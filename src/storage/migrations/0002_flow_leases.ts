/**
 * Row leases on pending login flows, so that of several processes sharing
 * the database exactly one polls a given flow at a time (`claimFlows`).
 * `lease_until` is epoch milliseconds; both columns NULL = not leased.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE login_flows ADD COLUMN lease_owner TEXT NULL`
  yield* sql`ALTER TABLE login_flows ADD COLUMN lease_until INTEGER NULL`
})
