// Own file: in @effect/vitest 0.30, a `layer(…, { excludeTestServices: true })` block
// in the same file leaves later tests without TestClock.
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { make } from "../../src/simulator/index.js"
import { initFlow, pollForm } from "./helpers.js"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

describe("Simulator under TestClock", () => {
  it.scoped("flow expiry follows TestClock when run under it", () =>
    Effect.gen(function* () {
      const sim = yield* make()
      const flow = yield* promise(() => initFlow(sim.url))
      yield* TestClock.adjust("1199 seconds")
      expect((yield* sim.listFlows).length).toBe(1)
      yield* TestClock.adjust("1 second")
      expect((yield* sim.listFlows).length).toBe(0)
      expect((yield* promise(() => pollForm(flow.poll.endpoint, flow.poll.token))).status).toBe(404)
    })
  )

})
