/**
 * A failed assertion about an Effect error reports the error. An error that
 * failed inside a traced function (`Effect.fn`, `withSpan`) is a Proxy that
 * carries its span; chai's inspector (loupe) does not see it as an Error,
 * calls its Node inspect hook, which returns the error itself, and inspects
 * that again: the failure read "Maximum call stack size exceeded" instead of
 * what was received. `test/support/setup.ts` gives Effect errors a chai hook.
 */
import { Data, Effect } from "effect"
import { chai, describe, expect, it } from "vitest"

class Refused extends Data.TaggedError("Refused")<{ readonly operation: string; readonly status: number }> {}

/** Fails the way the clients do: inside a traced function, so the error carries its span. */
const traced = Effect.fn("assertionMessages.traced")(function*() {
  return yield* new Refused({ operation: "Client.read", status: 500 })
})

const failureOf = (assertion: () => void): Error => {
  try {
    assertion()
  } catch (error) {
    return error as Error
  }
  throw new Error("the assertion passed")
}

describe("failed assertions about Effect errors", () => {
  it("are assertion errors, also for an error carrying its span", async () => {
    const error = await Effect.runPromise(Effect.flip(traced()))
    for (const received of [error, new Refused({ operation: "Client.read", status: 500 })]) {
      const failure = failureOf(() => expect(received).toMatchObject({ _tag: "Refused", status: 501 }))
      expect(failure.name).toBe("AssertionError")
      expect(failure.message).toMatch(/^expected .* to match object/)
    }
  })

  it("render the error's name and fields in chai's messages", async () => {
    const error = await Effect.runPromise(Effect.flip(traced()))
    expect(chai.util.inspect(error)).toBe("Refused { operation: 'Client.read', status: 500, _tag: 'Refused' }")
  })
})
