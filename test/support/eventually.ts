/**
 * "Eventually" polls for tests: check until a condition holds or a generous
 * deadline passes, instead of sleeping a fixed time or asserting on timing.
 * The deadline only bounds a failure; a passing check returns as soon as it
 * holds, so a long deadline costs nothing and keeps a loaded machine steady.
 * Assert on the answer: `expect(await eventually(…), "what").toBe(true)`.
 */
import { Effect } from "effect"

/** Long enough for a machine running other suites beside this one; shorter than the test timeout. */
export const DEADLINE_MS = 20_000

/** Run `check` every `every` ms until it is true (→ true) or `within` ms have passed (→ false). Real clock. */
export const eventuallyEffect = <E, R>(check: Effect.Effect<boolean, E, R>, within = DEADLINE_MS, every = 20) =>
  Effect.gen(function* () {
    const deadline = Date.now() + within
    for (;;) {
      if (yield* check) return true
      if (Date.now() >= deadline) return false
      yield* Effect.sleep(every)
    }
  })

/** Call `check` every `every` ms until it answers true (→ true) or `within` ms have passed (→ false). */
export const eventually = async (
  check: () => boolean | Promise<boolean>,
  within = DEADLINE_MS,
  every = 20
): Promise<boolean> => {
  const deadline = Date.now() + within
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}
