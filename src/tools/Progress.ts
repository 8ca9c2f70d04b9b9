import { Context, Effect, Layer } from "effect"

/** Progress notifications for the current request; a no-op when the client sent no progress token. */
export interface ProgressShape {
  readonly report: (progress: number, total: number | undefined, message: string) => Effect.Effect<void>
}

export class Progress extends Context.Tag("nextcloud-mcp/Progress")<Progress, ProgressShape>() {
  static readonly none = Layer.succeed(Progress, { report: () => Effect.void })
}
