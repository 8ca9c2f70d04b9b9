/**
 * Nothing to create: on PostgreSQL grant changes travel by `NOTIFY` (see
 * ../PgGrantChanges.ts). The migration keeps the ids of both backends in step.
 */
import { Effect } from "effect"

export default Effect.void
