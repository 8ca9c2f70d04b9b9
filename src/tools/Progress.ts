import { Context, Effect, Layer } from "effect"

/** Progress notifications for the current request; a no-op when the client sent no progress token. */
export interface ProgressShape {
  readonly report: (progress: number, total: number | undefined, message: string) => Effect.Effect<void>
}

/** No progress token: nothing is reported. */
export const noProgress: ProgressShape = { report: () => Effect.void }

/**
 * Progress for a request that carries `token` (either protocol revision):
 * `notifications/progress` through `notify`; a notification that cannot be
 * sent is dropped (the call goes on).
 */
export const progressNotifier = (
  token: string | number | undefined,
  notify: (notification: { readonly method: "notifications/progress"; readonly params: Record<string, unknown> }) => Promise<void>
): ProgressShape =>
  token === undefined
    ? noProgress
    : {
        report: (progress, total, message) =>
          Effect.promise(() =>
            notify({ method: "notifications/progress", params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), message } })
          ).pipe(Effect.catchAllCause(() => Effect.void))
      }

export class Progress extends Context.Tag("nextcloud-mcp/Progress")<Progress, ProgressShape>() {
  static readonly none = Layer.succeed(Progress, noProgress)
}
