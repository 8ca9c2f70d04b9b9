/**
 * A forked fiber's exit, for code at the edge that runs an Effect per
 * request: at once when the fiber has already ended (it waited for nothing,
 * e.g. a status from memory or a remembered token), without a promise;
 * otherwise once it ends. An abort signal, when given, interrupts it.
 * Callers take an Exit as it is (`Exit.isExit`) rather than `await` it,
 * which would cost a turn of the microtask queue on every call.
 */
import { type Exit, type Fiber, FiberId } from "effect"

export const fiberExit = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, signal?: AbortSignal): Exit.Exit<A, E> | Promise<Exit.Exit<A, E>> =>
  fiber.unsafePoll() ??
  new Promise((resolve) => {
    const cancel = () => fiber.unsafeInterruptAsFork(FiberId.none)
    signal?.addEventListener("abort", cancel, { once: true })
    fiber.addObserver((exit) => {
      signal?.removeEventListener("abort", cancel)
      resolve(exit)
    })
    if (signal?.aborted === true) cancel()
  })
