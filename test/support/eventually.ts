/**
 * "Eventually" polls for tests: check until a condition holds or a generous
 * deadline passes, instead of sleeping a fixed time or asserting on timing.
 */
import { Effect } from "effect"

/** Run `check` every `every` ms until it is true (→ true) or `within` ms have passed (→ false). Real clock. */
export const eventuallyEffect = <E, R>(check: Effect.Effect<boolean, E, R>, within: number, every = 20) =>
  Effect.gen(function* () {
    for (let waited = 0; waited <= within; waited += every) {
      if (yield* check) return true
      yield* Effect.sleep(every)
    }
    return false
  })

/** Call `check` every `every` ms until it resolves true (→ true) or `within` ms have passed (→ false). */
export const eventually = async (check: () => Promise<boolean>, within: number, every = 20): Promise<boolean> => {
  const deadline = Date.now() + within
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}
