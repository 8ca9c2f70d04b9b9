/**
 * Row leases on pending login flows (`claimFlows`): of several replicas
 * sharing the database, exactly one polls a given flow at a time.
 * `lease_until` is epoch milliseconds; both columns NULL = not leased.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE login_flows ADD COLUMN lease_owner text NULL`
  yield* sql`ALTER TABLE login_flows ADD COLUMN lease_until bigint NULL`
  yield* sql`CREATE INDEX login_flows_claim ON login_flows (created_at, user_id) INCLUDE (expires_at, lease_until)`
})
