/**
 * Grant changes across processes. Every process invalidates its own
 * `ScopeCache` on a grant change; with several processes sharing a database
 * the others must hear of it too. `publish` announces a change (the user id
 * only, never secrets); `subscribe` runs handlers for the changes announced
 * by any process (including this one) until its scope closes.
 *
 * The default is in-process: a single process already invalidates locally,
 * so `publish` does nothing and `subscribe` never calls back (right for a
 * `:memory:` database). Processes sharing storage use ./PgGrantChanges.ts
 * (PostgreSQL) or ./SqliteGrantChanges.ts (one SQLite file).
 */
import { Cause, Context, type Duration, Effect, Schedule, type Scope } from "effect"
import type { UserId } from "../domain/Ids.js"

export interface GrantChangeHandlers {
  /** Another process (or this one) changed the grant of `userId`. */
  readonly onChange: (userId: UserId) => Effect.Effect<void>
  /**
   * Changes may have been missed (the channel was down and is back): drop
   * everything derived from grants. Also called once the subscription is live.
   */
  readonly onReset: Effect.Effect<void>
}

export interface GrantChangesShape {
  /** Announce that the grant of `userId` changed. Never fails (failures are logged; the cache TTL is the backstop). */
  readonly publish: (userId: UserId) => Effect.Effect<void>
  /** Call `handlers` for announced changes until the scope closes. Returns once the subscription is started. */
  readonly subscribe: (handlers: GrantChangeHandlers) => Effect.Effect<void, never, Scope.Scope>
}

/** Nothing to tell: the only process has invalidated its own cache. */
export const inProcess: GrantChangesShape = {
  publish: () => Effect.void,
  subscribe: () => Effect.void
}

/** Defaults to {@link inProcess} when no layer provides it. */
export class GrantChanges extends Context.Reference<GrantChanges>()("nextcloud-mcp/GrantChanges", {
  defaultValue: (): GrantChangesShape => inProcess
}) {}

/**
 * Keep a subscription running for the life of the scope: `session` follows
 * the changes until it fails; then `lost` is logged with the reason,
 * `onReset` is called (changes may have been missed meanwhile), and the
 * session starts again after `restartDelay`. Returns once it is started.
 */
export const keepSubscribed = <E>(options: {
  readonly session: Effect.Effect<unknown, E>
  readonly handlers: GrantChangeHandlers
  readonly lost: string
  readonly reason: (error: E) => string
  readonly restartDelay: Duration.DurationInput
}): Effect.Effect<void, never, Scope.Scope> =>
  options.session.pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logWarning(options.lost).pipe(
            Effect.annotateLogs({
              reason: Cause.failureOption(cause).pipe((o) => (o._tag === "Some" ? options.reason(o.value) : "defect"))
            }),
            Effect.zipRight(options.handlers.onReset)
          )
    ),
    Effect.repeat(Schedule.spaced(options.restartDelay)),
    Effect.interruptible,
    Effect.forkScoped,
    Effect.asVoid
  )
