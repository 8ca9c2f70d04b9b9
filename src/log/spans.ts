/**
 * Spans that cost nothing while no tracer is on. `Effect.fn(name)` and
 * `Effect.withSpan` make a span on every call even then (a no-op one, still
 * with a stack capture, a copy of the fiber's context and an exit hook);
 * on `nc_auth_check_status`, the call clients make most, that was a fifth
 * of what the process spent per call (bench/ANALYSIS.md). The command line
 * runs with tracing off; an embedding program with a tracer gets the same
 * spans as before.
 */
import { Effect, FiberRef, type Tracer } from "effect"

/** `effect` in a span named `name` when a tracer is on; `effect` itself otherwise. */
export const whenTracing = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  options?: Tracer.SpanOptions
): Effect.Effect<A, E, R> =>
  // One step of the fiber's loop (a FiberRef.get and a flatMap take three).
  Effect.withFiberRuntime<A, E, R>((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled) ? Effect.withSpan(effect, name, options) : effect
  )

/**
 * A function whose every call is a span when a tracer is on, as
 * `Effect.fn(name, options)` would make it: wrap an `Effect.fnUntraced` body.
 */
export const tracedFn =
  (name: string, options?: Tracer.SpanOptions) =>
  <Args extends ReadonlyArray<unknown>, A, E, R>(body: (...args: Args) => Effect.Effect<A, E, R>) =>
  (...args: Args): Effect.Effect<A, E, R> =>
    whenTracing(name, body(...args), options)
