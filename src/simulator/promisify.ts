/** The simulator's Effect API as Promises, for plain async code. */
import { Cause, Effect, Exit } from "effect"

/** Effect-returning methods become Promise-returning; Effect values become zero-argument methods. */
export type Promisified<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => Effect.Effect<infer X, infer _E, never>
    ? (...args: A) => Promise<X>
    : T[K] extends Effect.Effect<infer X, infer _E, never>
      ? () => Promise<X>
      : T[K]
}

/** Run an Effect; reject with its typed failure (not a wrapped FiberFailure). */
export const runToPromise = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) =>
    Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause))
  )

export const promisify = <T extends object>(api: T): Promisified<T> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(api)) {
    if (typeof value === "function") {
      out[key] = (...args: ReadonlyArray<unknown>) =>
        runToPromise((value as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>)(...args))
    } else if (Effect.isEffect(value)) {
      out[key] = () => runToPromise(value as Effect.Effect<unknown, unknown>)
    } else {
      out[key] = value
    }
  }
  return out as Promisified<T>
}
