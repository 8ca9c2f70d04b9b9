/**
 * The backend-independent part of `StorageShape.reencryptAll`: walk every
 * encrypted column in user-id order, batch by batch, decide per value
 * (undecryptable / already current / rewrite) and hand the rewrites of a
 * batch to the backend, which applies them in one transaction as
 * compare-and-set updates. Also that backend over any `SqlClient` (the
 * statements are the same on SQLite and PostgreSQL).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Effect, Option, type ParseResult, Schema } from "effect"
import { UserId } from "../domain/Ids.js"
import type { CipherShape } from "./Cipher.js"
import { aad } from "./rows.js"
import type { ReencryptReport, SecretLocation } from "./Storage.js"

export type SecretField = SecretLocation["field"]

/** Where each secret lives, and the AAD binding it to its row and field (same on every backend). */
export const SECRET_COLUMNS: ReadonlyArray<{
  readonly field: SecretField
  readonly table: "grants" | "login_flows"
  readonly column: "app_password_enc" | "poll_token_enc" | "login_url_enc"
}> = [
  { field: "grant.app_password", table: "grants", column: "app_password_enc" },
  { field: "flow.poll_token", table: "login_flows", column: "poll_token_enc" },
  { field: "flow.login_url", table: "login_flows", column: "login_url_enc" }
]

export const secretAad = (field: SecretField, userId: UserId): string =>
  field === "grant.app_password"
    ? aad.appPassword(userId)
    : field === "flow.poll_token"
      ? aad.pollToken(userId)
      : aad.loginUrl(userId)

export interface StoredSecret {
  readonly userId: UserId
  readonly ciphertext: string
}

export interface Rewrite {
  readonly userId: UserId
  readonly from: string
  readonly to: string
}

export interface ReencryptBackend<E> {
  /** Up to `limit` secrets of `column` with user id greater than `after` (all when null), in user-id order. */
  readonly readBatch: (
    column: (typeof SECRET_COLUMNS)[number],
    after: UserId | null,
    limit: number
  ) => Effect.Effect<ReadonlyArray<StoredSecret>, E>
  /** Apply the rewrites in one transaction, each only where the column still holds `from`; how many applied. */
  readonly writeBatch: (
    column: (typeof SECRET_COLUMNS)[number],
    rewrites: ReadonlyArray<Rewrite>
  ) => Effect.Effect<number, E>
}

export const DEFAULT_BATCH_SIZE = 500

export const reencryptAll = <E>(
  cipher: CipherShape,
  backend: ReencryptBackend<E>,
  batchSize: number = DEFAULT_BATCH_SIZE
): Effect.Effect<ReencryptReport, E> =>
  Effect.gen(function* () {
    const limit = Math.max(1, Math.floor(batchSize))
    let reencrypted = 0
    let current = 0
    let changed = 0
    const undecryptable: Array<SecretLocation> = []
    for (const column of SECRET_COLUMNS) {
      let after: UserId | null = null
      for (;;) {
        const batch: ReadonlyArray<StoredSecret> = yield* backend.readBatch(column, after, limit)
        const rewrites: Array<Rewrite> = []
        for (const secret of batch) {
          const aad = secretAad(column.field, secret.userId)
          const plaintext = yield* Effect.option(cipher.decrypt(secret.ciphertext, aad))
          if (Option.isNone(plaintext)) {
            undecryptable.push({ field: column.field, userId: secret.userId })
          } else if (cipher.isCurrent(secret.ciphertext)) {
            current++
          } else {
            rewrites.push({ userId: secret.userId, from: secret.ciphertext, to: yield* cipher.encrypt(plaintext.value, aad) })
          }
        }
        if (rewrites.length > 0) {
          const applied = yield* backend.writeBatch(column, rewrites)
          reencrypted += applied
          changed += rewrites.length - applied
        }
        const last = batch[batch.length - 1]
        if (last === undefined || batch.length < limit) break
        after = last.userId
      }
    }
    if (undecryptable.length > 0) {
      yield* Effect.logWarning("Some stored secrets cannot be decrypted with any configured key; left untouched").pipe(
        Effect.annotateLogs({ count: undecryptable.length })
      )
    }
    return { reencrypted, current, changed, undecryptable }
  })

const SecretRow = Schema.Struct({ user_id: UserId, enc: Schema.String })
const Page = Schema.Struct({ after: Schema.NullOr(UserId), limit: Schema.Int })

/** The secret columns over `sql`, batch by batch; rewrites are compare-and-set, one transaction per batch. */
export const sqlReencryptBackend = (
  sql: SqlClient.SqlClient
): ReencryptBackend<SqlError | ParseResult.ParseError> => {
  const readSecrets = ({ column, table }: (typeof SECRET_COLUMNS)[number]) =>
    SqlSchema.findAll({
      Request: Page,
      Result: SecretRow,
      execute: ({ after, limit }) =>
        after === null
          ? sql`SELECT user_id, ${sql(column)} AS enc FROM ${sql(table)} ORDER BY user_id LIMIT ${limit}`
          : sql`SELECT user_id, ${sql(column)} AS enc FROM ${sql(table)} WHERE user_id > ${after}
              ORDER BY user_id LIMIT ${limit}`
    })
  return {
    readBatch: (column, after, limit) =>
      Effect.map(readSecrets(column)({ after, limit }), (rows) => rows.map((r) => ({ userId: r.user_id, ciphertext: r.enc }))),
    writeBatch: ({ column, table }, rewrites) =>
      Effect.forEach(rewrites, ({ from, to, userId }) =>
        sql`UPDATE ${sql(table)} SET ${sql(column)} = ${to}
          WHERE user_id = ${userId} AND ${sql(column)} = ${from} RETURNING user_id`.pipe(Effect.map((r) => r.length))
      ).pipe(
        Effect.map((applied) => applied.reduce((a, b) => a + b, 0)),
        sql.withTransaction
      )
  }
}
