/**
 * Every statement of the storage over the ambient `SqlClient`, each with its
 * row schemas (`SqlSchema`). One statement serves SQLite and PostgreSQL
 * unless they really differ; there `sql.onDialectOrElse` (PostgreSQL, else
 * SQLite) says how:
 *
 * - Reading columns back: SQLite hands times over as numbers and JSON as
 *   text; node-postgres hands `bigint` over as text and `jsonb` parsed. Both
 *   are written the same way (numbers, JSON text that PostgreSQL takes as
 *   `jsonb` by the column's type).
 * - Replacing a grant and returning the one replaced: on SQLite the first
 *   statement writes (`DELETE … RETURNING`, then `INSERT`), because a
 *   transaction that reads first and writes later can fail with SQLITE_BUSY
 *   when another process wrote in between, whatever the busy timeout. On
 *   PostgreSQL that would race with a concurrent insert of the same user, so
 *   the current row is locked (`SELECT … FOR UPDATE`) and updated, or the
 *   grant inserted with `ON CONFLICT DO NOTHING` and, when a concurrent
 *   insert won, that one locked and replaced: the grant reported as replaced
 *   is exactly the one overwritten.
 * - Leasing flows: one `UPDATE … RETURNING` over the oldest claimable rows.
 *   PostgreSQL picks them `FOR UPDATE SKIP LOCKED`, so concurrent claims
 *   neither wait on nor share a flow; SQLite runs the whole statement under
 *   its single write lock.
 * - Counting deleted rows: PostgreSQL counts them in a `WITH`; SQLite (no
 *   DML in `WITH`) hands them back.
 * - The coalesced audit upsert's later of two times: `max` / `GREATEST`.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import { Data, Effect, Option, type ParseResult, Schema } from "effect"
import { UserId } from "../domain/Ids.js"
import { Scope } from "../domain/Scope.js"
import { type ColumnCodecs, type FlowRow, type GrantRow, KeyRow, rowSchemas } from "./rows.js"

const Scopes = Schema.Array(Scope)
const Detail = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** Columns as SQLite hands them over, and as both dialects are written: NULL scopes = unrestricted. */
const textColumns = {
  millis: Schema.Number,
  scopes: Schema.NullOr(Schema.parseJson(Scopes)),
  detail: Schema.parseJson(Detail)
}

/** Columns as node-postgres hands them over: `bigint` as text, `jsonb` parsed. */
const pgColumns = {
  millis: Schema.Union(Schema.Number, Schema.NumberFromString),
  scopes: Schema.NullOr(Scopes),
  detail: Detail
}

const Write = rowSchemas(textColumns)
const Millis = textColumns.millis

const ByUser = Schema.Struct({ userId: UserId, onlyCreatedAt: Schema.NullOr(Millis) })
const Since = Schema.Struct({ userId: UserId, since: Millis })
const ScopesUpdate = Schema.Struct({ userId: UserId, scopes: textColumns.scopes, at: Millis })
const NcUserIdUpdate = Schema.Struct({ userId: UserId, ncUserId: Schema.String, at: Millis, onlyCreatedAt: Schema.NullOr(Millis) })
const ActiveFlows = Schema.Struct({ now: Millis, limit: Schema.Int })
const Claim = Schema.Struct({ owner: Schema.String, now: Millis, until: Millis, limit: Schema.Int })
const Release = Schema.Struct({ userId: UserId, owner: Schema.String })
const AuditQuery = Schema.Struct({ userId: Schema.NullOr(UserId), limit: Schema.Int })
const FlowStartRow = Schema.Struct({ user_id: UserId, at: Millis })
const CoalescedAuditRow = Schema.extend(Write.AuditRow, Schema.Struct({ repeat_key: Schema.String, repeat_window: Millis }))
const CountRow = Schema.Struct({ n: Schema.Number })

/** Replacing a grant kept losing to concurrent writers (practically unreachable). */
export class Contention extends Data.TaggedError("Contention")<{ readonly message: string }> {}

const REPLACE_ATTEMPTS = 5

type Failure = SqlError | ParseResult.ParseError

/** The statements over `sql`, reading rows back with `read`. */
const statementsWith = <MI, SI, DI>(sql: SqlClient.SqlClient, read: ColumnCodecs<MI, SI, DI>) => {
  const Read = rowSchemas(read)

  // --- grants -------------------------------------------------------------

  const findGrant = SqlSchema.findOne({
    Request: UserId,
    Result: Read.GrantRow,
    execute: (userId) => sql`SELECT * FROM grants WHERE user_id = ${userId}`
  })
  const deleteGrant = SqlSchema.findOne({
    Request: ByUser,
    Result: Read.GrantRow,
    execute: ({ onlyCreatedAt, userId }) =>
      onlyCreatedAt === null
        ? sql`DELETE FROM grants WHERE user_id = ${userId} RETURNING *`
        : sql`DELETE FROM grants WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING *`
  })
  const insertGrant = SqlSchema.void({
    Request: Write.GrantRow,
    execute: (row) => sql`INSERT INTO grants ${sql.insert(row)}`
  })
  const lockGrant = SqlSchema.findOne({
    Request: UserId,
    Result: Read.GrantRow,
    execute: (userId) => sql`SELECT * FROM grants WHERE user_id = ${userId} FOR UPDATE`
  })
  const updateGrant = SqlSchema.void({
    Request: Write.GrantRow,
    execute: (row) => sql`UPDATE grants SET ${sql.update(row, ["user_id"])} WHERE user_id = ${row.user_id}`
  })
  const insertGrantIfAbsent = SqlSchema.findAll({
    Request: Write.GrantRow,
    Result: KeyRow,
    execute: (row) => sql`INSERT INTO grants ${sql.insert(row)} ON CONFLICT (user_id) DO NOTHING RETURNING user_id`
  })

  /** Replace the user's grant; run inside a transaction. Returns the row it overwrote (see the module comment). */
  const replaceGrant: (row: GrantRow) => Effect.Effect<Option.Option<GrantRow>, Failure | Contention> =
    sql.onDialectOrElse({
      pg: () => (row: GrantRow) => {
        const attempt = (left: number): Effect.Effect<Option.Option<GrantRow>, Failure | Contention> =>
          Effect.gen(function* () {
            const current = yield* lockGrant(row.user_id)
            if (Option.isSome(current)) {
              yield* updateGrant(row)
              return current
            }
            if ((yield* insertGrantIfAbsent(row)).length > 0) return Option.none()
            // A concurrent transaction inserted this user's grant first: replace that one.
            if (left <= 1) return yield* new Contention({ message: "The grant kept changing under concurrent writers" })
            return yield* attempt(left - 1)
          })
        return attempt(REPLACE_ATTEMPTS)
      },
      orElse: () => (row: GrantRow) =>
        Effect.zipLeft(deleteGrant({ userId: row.user_id, onlyCreatedAt: null }), insertGrant(row))
    })

  const updateScopes = SqlSchema.findAll({
    Request: ScopesUpdate,
    Result: KeyRow,
    execute: ({ at, scopes, userId }) =>
      sql`UPDATE grants SET scopes = ${scopes}, updated_at = ${at} WHERE user_id = ${userId} RETURNING user_id`
  })
  const updateNcUserId = SqlSchema.findAll({
    Request: NcUserIdUpdate,
    Result: KeyRow,
    execute: ({ at, ncUserId, onlyCreatedAt, userId }) =>
      onlyCreatedAt === null
        ? sql`UPDATE grants SET nc_user_id = ${ncUserId}, updated_at = ${at} WHERE user_id = ${userId} RETURNING user_id`
        : sql`UPDATE grants SET nc_user_id = ${ncUserId}, updated_at = ${at}
            WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING user_id`
  })

  // --- flows --------------------------------------------------------------

  const findFlow = SqlSchema.findOne({
    Request: UserId,
    Result: Read.FlowRow,
    execute: (userId) => sql`SELECT * FROM login_flows WHERE user_id = ${userId}`
  })
  const upsertFlow = SqlSchema.void({
    Request: Write.FlowRow,
    execute: (row) =>
      sql`INSERT INTO login_flows ${sql.insert(row)}
        ON CONFLICT (user_id) DO UPDATE SET
          poll_token_enc = excluded.poll_token_enc,
          poll_endpoint = excluded.poll_endpoint,
          login_url_enc = excluded.login_url_enc,
          requested_scopes = excluded.requested_scopes,
          purpose = excluded.purpose,
          elicitation_id = excluded.elicitation_id,
          created_at = excluded.created_at,
          expires_at = excluded.expires_at,
          lease_owner = NULL,
          lease_until = NULL`
  })
  const deleteFlow = SqlSchema.findAll({
    Request: ByUser,
    Result: KeyRow,
    execute: ({ onlyCreatedAt, userId }) =>
      onlyCreatedAt === null
        ? sql`DELETE FROM login_flows WHERE user_id = ${userId} RETURNING user_id`
        : sql`DELETE FROM login_flows WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING user_id`
  })
  const findActiveFlows = SqlSchema.findAll({
    Request: ActiveFlows,
    Result: Read.FlowRow,
    execute: ({ limit, now }) =>
      sql`SELECT * FROM login_flows WHERE expires_at > ${now} ORDER BY created_at ASC, user_id ASC LIMIT ${limit}`
  })
  const skipLocked = sql.literal(sql.onDialectOrElse({ pg: () => "FOR UPDATE SKIP LOCKED", orElse: () => "" }))
  /** Lease the oldest claimable flows; the rows come back in no defined order. */
  const claimFlows = SqlSchema.findAll({
    Request: Claim,
    Result: Read.FlowRow,
    execute: ({ limit, now, owner, until }) =>
      sql`UPDATE login_flows SET lease_owner = ${owner}, lease_until = ${until}
        WHERE user_id IN (
          SELECT user_id FROM login_flows
          WHERE expires_at > ${now}
            AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ${now} OR lease_owner = ${owner})
          ORDER BY COALESCE(lease_until, 0) ASC, created_at ASC, user_id ASC
          LIMIT ${limit} ${skipLocked})
        RETURNING *`
  })
  const releaseFlow = SqlSchema.findAll({
    Request: Release,
    Result: KeyRow,
    execute: ({ owner, userId }) =>
      sql`UPDATE login_flows SET lease_owner = NULL, lease_until = NULL
        WHERE user_id = ${userId} AND lease_owner = ${owner} RETURNING user_id`
  })

  /** How many rows the `DELETE … RETURNING 1` made by `deletion` removed. */
  const countDeleted = (deletion: (before: number) => Statement.Statement<object>) =>
    sql.onDialectOrElse({
      pg: () => {
        const count = SqlSchema.findOne({
          Request: Millis,
          Result: CountRow,
          execute: (before) => sql`WITH gone AS (${deletion(before)}) SELECT count(*)::integer AS n FROM gone`
        })
        return (before: number) => Effect.map(count(before), Option.match({ onNone: () => 0, onSome: (row) => row.n }))
      },
      orElse: () => (before: number) => Effect.map(deletion(before), (rows) => rows.length)
    })
  const deleteExpiredFlows = countDeleted((before) => sql`DELETE FROM login_flows WHERE expires_at < ${before} RETURNING 1`)

  // --- history ------------------------------------------------------------

  const insertFlowStart = SqlSchema.void({
    Request: FlowStartRow,
    execute: (row) => sql`INSERT INTO flow_starts ${sql.insert(row)}`
  })
  const findFlowStarts = SqlSchema.findAll({
    Request: Since,
    Result: Read.AtRow,
    execute: ({ since, userId }) =>
      sql`SELECT at FROM flow_starts WHERE user_id = ${userId} AND at >= ${since} ORDER BY at ASC`
  })

  const insertAudit = SqlSchema.void({
    Request: Write.AuditRow,
    execute: (row) => sql`INSERT INTO audit_log ${sql.insert(row)}`
  })
  const greatest = sql.literal(sql.onDialectOrElse({ pg: () => "GREATEST", orElse: () => "max" }))
  const upsertCoalescedAudit = SqlSchema.void({
    Request: CoalescedAuditRow,
    execute: (row) =>
      sql`INSERT INTO audit_log ${sql.insert(row)}
        ON CONFLICT (user_id, event, repeat_key, repeat_window) DO UPDATE SET
          count = audit_log.count + 1,
          last_at = ${greatest}(COALESCE(audit_log.last_at, audit_log.at), excluded.at)`
  })
  const findAudit = SqlSchema.findAll({
    Request: AuditQuery,
    Result: Read.AuditRecordRow,
    execute: ({ limit, userId }) =>
      userId === null
        ? sql`SELECT at, user_id, event, detail, count, COALESCE(last_at, at) AS last_at FROM audit_log
            ORDER BY at DESC, id DESC LIMIT ${limit}`
        : sql`SELECT at, user_id, event, detail, count, COALESCE(last_at, at) AS last_at FROM audit_log
            WHERE user_id = ${userId} ORDER BY at DESC, id DESC LIMIT ${limit}`
  })
  const pruneAudit = countDeleted((before) => sql`DELETE FROM audit_log WHERE at < ${before} RETURNING 1`)
  const pruneFlowStarts = SqlSchema.void({
    Request: Millis,
    execute: (before) => sql`DELETE FROM flow_starts WHERE at < ${before}`
  })

  return {
    findGrant,
    deleteGrant,
    replaceGrant,
    updateScopes,
    updateNcUserId,
    findFlow,
    upsertFlow,
    deleteFlow,
    findActiveFlows,
    claimFlows,
    releaseFlow,
    deleteExpiredFlows,
    insertFlowStart,
    findFlowStarts,
    insertAudit,
    upsertCoalescedAudit,
    findAudit,
    pruneAudit,
    pruneFlowStarts
  }
}

/** The storage's statements over `sql`, for its dialect. */
export const statements = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({
    pg: () => statementsWith(sql, pgColumns),
    orElse: () => statementsWith(sql, textColumns)
  })

/** Oldest first, then by user id in code-point order (the byte order both databases sort keys in). */
export const byAge = (a: FlowRow, b: FlowRow): number => a.created_at - b.created_at || compareCodePoints(a.user_id, b.user_id)

/** UTF-16 puts U+E000–U+FFFF after the surrogates of higher code points; code-point order puts them before. */
const codePointRank = (unit: number) => (unit < 0xd800 ? unit : unit >= 0xe000 ? unit - 0x800 : unit + 0x2000)

const compareCodePoints = (a: string, b: string): number => {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}
