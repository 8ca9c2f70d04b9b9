/**
 * `GrantChanges` over PostgreSQL `LISTEN`/`NOTIFY`, for replicas sharing
 * one database.
 *
 * - One channel per schema (`ncmcp_grants_<schema>`, or `ncmcp_grants` on
 *   the URL's default `search_path`), so deployments or test runs in other
 *   schemas of the same database are not disturbed.
 * - Payloads: `u:<user id>` for a grant change (never secrets), and
 *   `p:<token>` for this process's heartbeats. A process also receives its
 *   own changes; invalidating twice is harmless.
 * - The listening connection is watched with heartbeats: a `NOTIFY` every
 *   `heartbeatInterval` must come back through the `LISTEN` within
 *   `heartbeatTimeout`. When it does not (connection dropped, server
 *   restarted) or the listen fails, the subscription logs, calls `onReset`
 *   (changes may have been missed) and listens again after
 *   `reconnectDelay`; once it hears its first heartbeat it calls `onReset`
 *   again, covering anything cached while it was deaf.
 * - `publish` failures are logged without details; the cache TTL is then
 *   the backstop.
 * - The connections have the limits of ./pgConnection.ts, with a
 *   client-side `queryTimeout` (default 3 s): the listening connection is
 *   outside the pool, so when the network silently drops, its `UNLISTEN`
 *   (run while the lost session shuts down) would otherwise wait for ever
 *   and the subscription would never reset nor listen again.
 */
import { createHash, randomUUID } from "node:crypto"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Cause, Data, Duration, Effect, Layer, Option, Queue, Redacted, Ref, Schedule, Stream } from "effect"
import { GrantChanges, type GrantChangeHandlers, type GrantChangesShape, keepSubscribed } from "./GrantChanges.js"
import type { UserId } from "../domain/Ids.js"
import { clientOptions, type PgConnectionLimits, withLimits } from "./pgConnection.js"
import { StorageError } from "./Storage.js"

class ListenLost extends Data.TaggedError("ListenLost")<{ readonly reason: string }> {}

export interface PgGrantChangesOptions {
  /** Channel name; see {@link channelFor}. */
  readonly channel: string
  readonly heartbeatInterval?: Duration.DurationInput
  readonly heartbeatTimeout?: Duration.DurationInput
  readonly reconnectDelay?: Duration.DurationInput
}

/** Connection limits of the notification connections (see ./pgConnection.ts). */
export interface PgGrantChangesConnection {
  /** Opening a connection (default 5 s). */
  readonly connectTimeout?: Duration.DurationInput
  /** Any statement's answer, `LISTEN`/`UNLISTEN` included (default 3 s). */
  readonly queryTimeout?: Duration.DurationInput
}

/** The channel for the tables in `schema` (at most 63 bytes, PostgreSQL's identifier limit). */
export const channelFor = (schema: string | undefined): string => {
  if (schema === undefined) return "ncmcp_grants"
  const name = `ncmcp_grants_${schema}`
  return name.length <= 63 ? name : `ncmcp_grants_${createHash("sha256").update(schema).digest("hex").slice(0, 32)}`
}

const USER = "u:"
const PING = "p:"

/** The service over the ambient `PgClient`. */
export const make = (options: PgGrantChangesOptions) =>
  Effect.gen(function* () {
    const pg = yield* PgClient.PgClient
    const channel = options.channel
    const heartbeatInterval = Duration.decode(options.heartbeatInterval ?? "5 seconds")
    const heartbeatTimeout = Duration.decode(options.heartbeatTimeout ?? "3 seconds")
    const reconnectDelay = Duration.decode(options.reconnectDelay ?? "1 second")
    const notify = (payload: string) => pg`SELECT pg_notify(${channel}, ${payload})`.pipe(Effect.asVoid)

    const publish = (userId: UserId) =>
      notify(`${USER}${userId}`).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("grant change not announced to other replicas; their caches expire it by TTL").pipe(
            Effect.annotateLogs({ reason: Cause.isFailType(cause) ? cause.error.message : "defect" })
          )
        )
      )

    /** One LISTEN session: fails when the connection is lost, never succeeds. */
    const session = (handlers: GrantChangeHandlers) =>
      Effect.gen(function* () {
        const pings = yield* Queue.sliding<string>(16)
        const instance = randomUUID()
        const counter = yield* Ref.make(0)
        const listen = pg.listen(channel).pipe(
          Stream.runForEach((payload) =>
            payload.startsWith(USER)
              ? handlers.onChange(payload.slice(USER.length) as UserId)
              : payload.startsWith(PING)
                ? Queue.offer(pings, payload)
                : Effect.void
          ),
          Effect.mapError((error) => new ListenLost({ reason: error.message })),
          Effect.zipRight(Effect.fail(new ListenLost({ reason: "listen ended" })))
        )
        const roundTrip = (timeout: Duration.Duration) =>
          Effect.gen(function* () {
            const token = `${PING}${instance}:${yield* Ref.getAndUpdate(counter, (n) => n + 1)}`
            yield* notify(token).pipe(Effect.mapError((error) => new ListenLost({ reason: error.message })))
            yield* Queue.take(pings).pipe(
              Effect.repeat({ until: (received) => received === token }),
              Effect.timeoutFail({ duration: timeout, onTimeout: () => new ListenLost({ reason: "heartbeat missed" }) })
            )
          })
        const heartbeat = Effect.gen(function* () {
          // The LISTEN may not be in place yet: try for a while with short waits.
          yield* roundTrip(Duration.millis(250)).pipe(Effect.retry(Schedule.recurs(40)))
          yield* Effect.logDebug("listening for grant changes").pipe(Effect.annotateLogs({ channel }))
          yield* handlers.onReset
          return yield* Effect.sleep(heartbeatInterval).pipe(Effect.zipRight(roundTrip(heartbeatTimeout)), Effect.forever)
        })
        return yield* Effect.raceFirst(listen, heartbeat)
      }).pipe(Effect.scoped)

    const subscribe = (handlers: GrantChangeHandlers) =>
      keepSubscribed({
        session: session(handlers),
        handlers,
        lost: "grant change notifications interrupted; dropping cached grants and listening again",
        reason: (error) => error.reason,
        restartDelay: reconnectDelay
      })

    return GrantChanges.of({ publish, subscribe } satisfies GrantChangesShape)
  })

/** The URL with the connection limits, or the URL as given when it does not parse (the driver then reports it). */
const limitedUrl = (url: Redacted.Redacted<string>, limits: PgConnectionLimits): Redacted.Redacted<string> =>
  Option.liftThrowable(() => new URL(Redacted.value(url)))().pipe(
    Option.match({ onNone: () => url, onSome: (parsed) => Redacted.make(withLimits(parsed, limits).toString()) })
  )

/** `GrantChanges` on the database at `url` with its own small connection pool. */
export const layer = (
  options: { readonly url: Redacted.Redacted<string>; readonly schema?: string } & Omit<PgGrantChangesOptions, "channel"> &
    PgGrantChangesConnection
): Layer.Layer<GrantChanges, StorageError> => {
  const queryTimeout = Duration.decode(options.queryTimeout ?? "3 seconds")
  const limits: PgConnectionLimits = {
    connectTimeout: options.connectTimeout ?? "5 seconds",
    statementTimeout: queryTimeout,
    idleInTransactionTimeout: Duration.times(queryTimeout, 2),
    queryTimeout,
    // Heartbeats keep a live listening connection talking.
    silenceLimit: Duration.max(Duration.seconds(30), Duration.times(Duration.decode(options.heartbeatInterval ?? "5 seconds"), 3))
  }
  return Layer.effect(
    GrantChanges,
    make({ ...options, channel: channelFor(options.schema) })
  ).pipe(
    Layer.provide(
      PgClient.layer({
        url: limitedUrl(options.url, limits),
        applicationName: "nextcloud-mcp",
        maxConnections: 2,
        ...clientOptions(limits)
      }).pipe(
        // The driver's messages may quote the URL: keep none of them.
        Layer.mapError(() => new StorageError({ operation: "connect", cause: { message: "could not connect for grant change notifications" } }))
      )
    )
  )
}
