/**
 * While a client waits for a login (`nc_auth_check_status` with
 * `wait_seconds`), the user's flow is polled every `waitingPollInterval`
 * (1 s) instead of at the background poller's cadence, so the assistant goes
 * on within about a second of the click; Nextcloud does not throttle its
 * poll route (docs/nextcloud-protocol.md). Every waiter of one user shares
 * one poller, which stops when the last of them stops waiting. Polls go
 * through {@link LoginFlows} under the user's lock, as the background
 * poller's do, so the one-shot answer is taken once and completes exactly
 * as any other poll would.
 */
import { Cause, Context, Effect, Layer, RcMap } from "effect"
import type { UserId } from "../domain/Ids.js"
import { LoginFlows } from "./LoginFlows.js"
import { ProvisioningConfig } from "./ProvisioningConfig.js"
import { SettledFlows } from "./SettledFlows.js"

export interface WaitingPollsShape {
  /** Run `wait` (a wait for the user's flow to settle) with the user's flow polled often meanwhile. */
  readonly whileWaiting: <A, E, R>(userId: UserId, wait: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const makeWaitingPolls = Effect.gen(function* () {
  const flows = yield* LoginFlows
  const signals = yield* SettledFlows
  const config = yield* ProvisioningConfig

  const pollOnce = (userId: UserId) =>
    flows.poll(userId).pipe(
      // Gone without this process seeing it end (another one took the answer, or the
      // person declined there): wake the waiters, who read how it ended.
      Effect.flatMap((outcome) => (outcome._tag === "Gone" ? signals.settle(userId) : Effect.void)),
      // A failed poll leaves the flow pending; the next one tries again.
      Effect.catchAll((error) => Effect.logDebug("poll for a waiting client failed", { user: userId, error: error._tag })),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logError("poll for a waiting client failed unexpectedly", cause)
      )
    )

  const pollers = yield* RcMap.make({
    lookup: (userId: UserId) =>
      Effect.sleep(config.waitingPollInterval).pipe(Effect.zipRight(pollOnce(userId)), Effect.forever, Effect.forkScoped)
  })

  return WaitingPolls.of({
    whileWaiting: (userId, wait) => Effect.scoped(Effect.zipRight(RcMap.get(pollers, userId), wait))
  })
})

export class WaitingPolls extends Context.Tag("nextcloud-mcp/WaitingPolls")<WaitingPolls, WaitingPollsShape>() {
  static readonly layer = Layer.scoped(WaitingPolls, makeWaitingPolls)
}
