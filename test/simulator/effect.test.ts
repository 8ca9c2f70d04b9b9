import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Fault, make, Simulator, SimulatorStartError } from "../../src/simulator/index.js"
import { layer as simulatorLayer } from "../../src/simulator/Simulator.js"
import { initFlow, pollForm } from "./helpers.js"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

layer(simulatorLayer(), { excludeTestServices: true })("Simulator layer", (it) => {
  it.effect("grant through the Effect API; the client sees the credentials once", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const flow = yield* promise(() => initFlow(sim.url))
      const grant = yield* sim.grant({ flow: flow.login, userId: "alice" })
      const first = yield* promise(() => pollForm(flow.poll.endpoint, flow.poll.token))
      const second = yield* promise(() => pollForm(flow.poll.endpoint, flow.poll.token))
      expect([first.status, second.status]).toEqual([200, 404])
      expect(yield* sim.appPasswordStatus(grant.appPassword)).toBe("alive")
    })
  )

  it.effect("hook failures are typed SimulatorHookErrors", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const error = yield* Effect.flip(sim.deny("no-such-flow"))
      expect(error.reason).toBe("UnknownFlow")
    })
  )

  it.effect("a latency fault holds the response for the given time", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      yield* sim.injectFault({ target: "init", fault: Fault.latency(30), times: 1 })
      const started = Date.now()
      yield* promise(() => initFlow(sim.url))
      expect(Date.now() - started).toBeGreaterThanOrEqual(25)
    })
  )
})

describe("Simulator.make", () => {
  it.live("fails with SimulatorStartError when the port is taken, and frees the port on scope close", () =>
    Effect.gen(function* () {
      const port = yield* Effect.scoped(
        Effect.gen(function* () {
          const first = yield* make()
          const taken = Number(new URL(first.url).port)
          const exit = yield* Effect.exit(Effect.scoped(make({ port: taken })))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) {
            const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            expect(error).toBeInstanceOf(SimulatorStartError)
          }
          return taken
        })
      )
      // The first server is gone; the port can be bound again.
      const again = yield* Effect.scoped(Effect.map(make({ port }), (sim) => sim.url))
      expect(again).toBe(`http://127.0.0.1:${port}`)
    })
  )

  it.live("closing the scope ends keep-alive connections promptly", () =>
    Effect.gen(function* () {
      const started = Date.now()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sim = yield* make()
          yield* promise(() => fetch(`${sim.url}/__sim`).then((r) => r.text()))
        })
      )
      expect(Date.now() - started).toBeLessThan(1000)
    })
  )
})
