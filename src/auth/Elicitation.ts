/**
 * Showing the login URL to the person (issue: URL-mode elicitation where the
 * client supports it, else a form with an `acknowledged` box, else only the
 * tool's text). Provided per request by the MCP adapter; tests provide fakes.
 */
import { Clock, Context, Duration, Effect, Layer } from "effect"

export type LoginUrlOutcome =
  /** The client showed the URL and the person agreed to open it. */
  | "accepted"
  | "declined"
  | "cancelled"
  /** The client cannot elicit, or the elicitation failed: the URL is only in the tool's text. */
  | "not_shown"

export interface PresentedLogin {
  readonly outcome: LoginUrlOutcome
  /** Set for an accepted URL-mode elicitation: completion is notified under this id. */
  readonly elicitationId: string | null
}

export interface ElicitationShape {
  readonly presentLoginUrl: (request: {
    readonly loginUrl: string
    readonly message: string
  }) => Effect.Effect<PresentedLogin>
}

/** The URL was not shown by the client: it is only in the tool's text. */
export const notShown: PresentedLogin = { outcome: "not_shown", elicitationId: null }

/** A client that cannot show the URL: it is only in the tool's text. */
export const noElicitation: ElicitationShape = { presentLoginUrl: () => Effect.succeed(notShown) }

export class Elicitation extends Context.Tag("nextcloud-mcp/Elicitation")<Elicitation, ElicitationShape>() {
  /** No elicitation support: the URL is only shown in the tool's text. */
  static readonly none = Layer.succeed(Elicitation, noElicitation)
}

/**
 * Completion notifiers of accepted URL-mode elicitations, by elicitation id.
 * In memory: after a restart the client session that opened the URL is gone too.
 */
export interface ElicitationCompletionsShape {
  readonly register: (elicitationId: string, notify: Effect.Effect<void>) => Effect.Effect<void>
  /** Send the completion notification, once; unknown ids are ignored. */
  readonly complete: (elicitationId: string) => Effect.Effect<void>
  readonly forget: (elicitationId: string) => Effect.Effect<void>
  /** How many notifications are waiting (for tests and diagnostics). */
  readonly size: Effect.Effect<number>
}

export class ElicitationCompletions extends Context.Tag("nextcloud-mcp/ElicitationCompletions")<
  ElicitationCompletions,
  ElicitationCompletionsShape
>() {
  /**
   * Entries live at most `maxAge` (a login's lifetime and then some): a flow
   * that expires, is replaced or revoked never completes, and its entry would
   * otherwise keep the closed session's server alive.
   */
  static readonly layerWith = (maxAge: Duration.DurationInput) =>
    Layer.sync(ElicitationCompletions, () => {
      const pending = new Map<string, { readonly notify: Effect.Effect<void>; readonly at: number }>()
      const maxAgeMs = Duration.toMillis(Duration.decode(maxAge))
      const take = (id: string) =>
        Effect.sync(() => {
          const entry = pending.get(id)
          pending.delete(id)
          return entry?.notify
        })
      return ElicitationCompletions.of({
        register: (id, notify) =>
          Clock.currentTimeMillis.pipe(
            Effect.map((now) => {
              for (const [key, entry] of pending) if (now - entry.at > maxAgeMs) pending.delete(key)
              pending.set(id, { notify, at: now })
            })
          ),
        complete: (id) =>
          take(id).pipe(
            Effect.flatMap((notify) => notify ?? Effect.void),
            Effect.catchAllCause((cause) => Effect.logWarning("elicitation completion not delivered", cause))
          ),
        forget: (id) => Effect.asVoid(take(id)),
        size: Effect.sync(() => pending.size)
      })
    })

  static readonly layer = ElicitationCompletions.layerWith(Duration.minutes(30))
}
