/**
 * Grant changes across processes. Every process invalidates its own
 * `ScopeCache` on a grant change; with several processes sharing a database
 * the others must hear of it too. `publish` announces a change (the user id
 * only, never secrets); `subscribe` runs handlers for the changes announced
 * by any process (including this one) until its scope closes.
 *
 * The default is in-process: a single process already invalidates locally,
 * so `publish` does nothing and `subscribe` never calls back. The
 * PostgreSQL implementation is in `../storage/PgGrantChanges.ts`.
 */
import { Context, Effect, type Scope } from "effect"
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
