/**
 * `GrantChanges` for processes sharing one SQLite file (the default database
 * is one file per OS user, so every desktop client's stdio server uses it).
 *
 * - `publish` appends the user id and the time to `grant_changes` (never
 *   secrets) and prunes rows older than `retention`.
 * - Each subscription checks `PRAGMA data_version` every `pollInterval`. It
 *   changes only when another connection committed, so an idle database
 *   costs one cheap pragma per tick; this connection's own publishes are
 *   counted in memory instead. When either moved, the subscription reads the
 *   rows after the last id it saw and calls `onChange` once per user (its own
 *   process's changes included: dropping a cache entry twice is harmless).
 * - Ids come from AUTOINCREMENT: they never repeat, so the rows after the
 *   last id seen must be every id up to the current sequence. When some are
 *   missing (pruned before they were read: the process was stopped longer
 *   than `retention`), the subscription calls `onReset`.
 * - The connection is this layer's own, and it never waits inside SQLite
 *   for the write lock (`busy_timeout` 0): better-sqlite3 waits
 *   synchronously, which would block the event loop, and with it the
 *   storage connection of this same process that may hold the lock.
 *   Publishing retries with `Schedule` sleeps instead; a failed publish is
 *   logged and the cache TTL is then the backstop.
 * - A failed poll is logged, `onReset` is called, and the subscription starts
 *   over after `pollInterval`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Cause, Clock, Duration, Effect, Layer, Ref, Schedule } from "effect"
import { type GrantChangeHandlers, GrantChanges, type GrantChangesShape, keepSubscribed } from "./GrantChanges.js"
import type { UserId } from "../domain/Ids.js"
import { describeStorageCause } from "./errors.js"
import { layerClient } from "./SqliteStorage.js"
import { StorageError } from "./Storage.js"

export interface SqliteGrantChangesOptions {
  /** How often each subscription checks for changes (default 100 ms). */
  readonly pollInterval?: Duration.DurationInput
  /** How long published changes stay in the log (default 10 minutes). */
  readonly retention?: Duration.DurationInput
  /** How long `publish` keeps retrying while another connection holds the write lock (default 5 s). */
  readonly publishTimeout?: Duration.DurationInput
}

/** Where a subscription stands: what it saw last. */
interface Position {
  readonly dataVersion: number
  readonly localPublishes: number
  readonly lastId: number
}

const isBusy = (error: SqlError): boolean => {
  const code = (error.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
}

/** The service over the ambient `SqlClient`: a connection of its own to the migrated database file. */
export const make = (options: SqliteGrantChangesOptions = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const pollInterval = Duration.decode(options.pollInterval ?? "100 millis")
    const retention = Duration.toMillis(options.retention ?? "10 minutes")
    const publishTimeout = Duration.decode(options.publishTimeout ?? "5 seconds")
    yield* sql`PRAGMA busy_timeout = 0`
    const localPublishes = yield* Ref.make(0)

    const whileLocked = Schedule.exponential("5 millis").pipe(
      Schedule.union(Schedule.spaced("100 millis")),
      Schedule.upTo(publishTimeout)
    )

    const publish = (userId: UserId) =>
      Effect.gen(function* () {
        const at = yield* Clock.currentTimeMillis
        yield* Effect.zipRight(
          sql`INSERT INTO grant_changes (user_id, at) VALUES (${userId}, ${at})`,
          sql`DELETE FROM grant_changes WHERE at < ${at - retention}`
        ).pipe(sql.withTransaction, Effect.retry({ schedule: whileLocked, while: isBusy }))
        yield* Ref.update(localPublishes, (n) => n + 1)
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("grant change not announced to other processes; their caches expire it by TTL").pipe(
            Effect.annotateLogs({
              reason: Cause.failureOption(cause).pipe((o) => (o._tag === "Some" ? describeStorageCause(o.value) : "defect"))
            })
          )
        )
      )

    const dataVersion = Effect.map(
      sql<{ readonly data_version: number }>`PRAGMA data_version`,
      (rows) => rows[0]?.data_version ?? 0
    )
    const lastIdIssued = Effect.map(
      sql<{ readonly seq: number }>`SELECT seq FROM sqlite_sequence WHERE name = 'grant_changes'`,
      (rows) => rows[0]?.seq ?? 0
    )

    /** Where the log stands now. Read the version first, so a commit after it shows up in the next poll. */
    const currentPosition = Effect.gen(function* () {
      const version = yield* dataVersion
      const local = yield* Ref.get(localPublishes)
      return { dataVersion: version, localPublishes: local, lastId: yield* lastIdIssued } satisfies Position
    })

    /** One poll: announce what was published since `seen`; returns the new position. */
    const poll = (handlers: GrantChangeHandlers, seen: Position) =>
      Effect.gen(function* () {
        const version = yield* dataVersion
        const local = yield* Ref.get(localPublishes)
        if (version === seen.dataVersion && local === seen.localPublishes) return seen
        // Every id up to `lastId` was committed when it was read, so the rows below are all there, unless pruned.
        const lastId = yield* lastIdIssued
        const rows = lastId > seen.lastId
          ? yield* sql<{ readonly user_id: UserId }>`SELECT user_id FROM grant_changes
              WHERE id > ${seen.lastId} AND id <= ${lastId} ORDER BY id`
          : []
        for (const userId of new Set(rows.map((r) => r.user_id))) yield* handlers.onChange(userId)
        if (rows.length < lastId - seen.lastId) {
          yield* Effect.logWarning("missed grant changes of other processes (pruned before read); dropping cached grants")
          yield* handlers.onReset
        }
        return { dataVersion: version, localPublishes: local, lastId: Math.max(lastId, seen.lastId) } satisfies Position
      })

    /** Start at the current end of the log, then poll; fails when a read fails. */
    const follow = (handlers: GrantChangeHandlers) =>
      currentPosition.pipe(
        Effect.tap(() => handlers.onReset),
        Effect.flatMap((start) =>
          Effect.iterate(start, {
            while: () => true,
            body: (position) => Effect.zipRight(Effect.sleep(pollInterval), poll(handlers, position))
          })
        )
      )

    const subscribe = (handlers: GrantChangeHandlers) =>
      keepSubscribed({
        session: follow(handlers),
        handlers,
        lost: "could not read grant changes of other processes; dropping cached grants and starting over",
        reason: describeStorageCause,
        restartDelay: pollInterval
      })

    return GrantChanges.of({ publish, subscribe } satisfies GrantChangesShape)
  })

/** `GrantChanges` on the database file `filename` (not `:memory:`), over a connection of its own. */
export const layer = (
  options: { readonly filename: string } & SqliteGrantChangesOptions
): Layer.Layer<GrantChanges, StorageError> =>
  Layer.effect(
    GrantChanges,
    make(options).pipe(Effect.mapError((cause) => new StorageError({ operation: "open grant change log", cause })))
  ).pipe(Layer.provide(layerClient({ filename: options.filename })))
