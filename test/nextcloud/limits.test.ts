/**
 * The limits every call to Nextcloud keeps (docs/tool-contract.md §8): answers are read
 * as a counted stream and refused past NC_MCP_MAX_RESPONSE_BYTES with memory
 * staying bounded; one time budget covers a whole call, retries included,
 * and a call that runs out of it is never repeated.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Redacted, Schedule } from "effect"
import { NextcloudLive } from "../../src/app.js"
import { LoginFlowClient } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudConfig, type NextcloudConfigShape } from "../../src/nextcloud/NextcloudConfig.js"
import { Notes } from "../../src/apps/notes/Client.js"
import type { DavAccount } from "../../src/nextcloud/Ocs.js"
import { WebDav } from "../../src/apps/files/Client.js"
import * as Simulator from "../../src/simulator/index.js"
import { makeSimulatorWithApps } from "../support/simulator.js"
import { fieldsOf, json, later, startStub } from "./stub.js"
import { describeNextcloudFailure } from "../../src/nextcloud/errors.js"

const MiB = 1024 * 1024

const setup = (options: Partial<Omit<NextcloudConfigShape, "host">> = {}) =>
  Effect.gen(function* () {
    const sim = yield* makeSimulatorWithApps()
    const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
    const account: DavAccount = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password), userId: "ada-5c7e" }
    const context = yield* Layer.build(NextcloudLive.pipe(Layer.provide(NextcloudConfig.make(sim.url, options))))
    const notes = Effect.provide(Notes, context)
    const dav = Effect.provide(WebDav, context)
    const loginFlow = Effect.provide(LoginFlowClient, context)
    return { sim, account, notes: yield* notes, dav: yield* dav, loginFlow: yield* loginFlow }
  })

/** Runs `effect` while sampling this process's RSS; returns its result and the largest growth seen. */
const withPeakRss = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const before = process.memoryUsage().rss
    let peak = before
    const sampler = yield* Effect.fork(
      Effect.sync(() => {
        peak = Math.max(peak, process.memoryUsage().rss)
      }).pipe(Effect.repeat(Schedule.spaced("5 millis")))
    )
    const result = yield* Effect.either(effect)
    yield* Fiber.interrupt(sampler)
    peak = Math.max(peak, process.memoryUsage().rss)
    return { result, failure: result._tag === "Left" ? fieldsOf(result.left) : "no failure", growth: peak - before }
  })

const tooLarge = { _tag: "NextcloudProtocolError", status: 200, detail: "the answer is larger than NC_MCP_MAX_RESPONSE_BYTES (10 MiB)" }

describe("answers larger than NC_MCP_MAX_RESPONSE_BYTES", () => {
  it.scopedLive("a 100 MB notes list streamed without Content-Length fails with bounded memory; the next call works", () =>
    Effect.gen(function* () {
      const { sim, account, notes } = yield* setup()
      yield* sim.seedNote({ userId: "ada-5c7e", title: "Still here" })
      yield* sim.injectFault({ target: "notes.list", fault: Simulator.Fault.hugeBody(100 * MiB, "json"), times: 2 })
      // The first one warms up the heap and code paths; the second is measured.
      yield* Effect.either(notes.list(account))
      const { result, failure, growth } = yield* withPeakRss(notes.list(account))
      expect(failure).toMatchObject({ ...tooLarge, operation: "Notes.list" })
      expect(growth).toBeLessThan(50 * MiB)
      expect((yield* notes.list(account)).notes.map((n) => n.title)).toEqual(["Still here"])
      // Tool-facing: a NextcloudError that names the setting.
      if (result._tag === "Left" && result.left._tag === "NextcloudProtocolError") {
        const error = describeNextcloudFailure(new URL(sim.url), "list your notes", result.left)
        expect(error._tag).toBe("NextcloudError")
        expect(error.message).toContain("NC_MCP_MAX_RESPONSE_BYTES")
      }
    }))

  it.scopedLive("a 100 MB poll answer is an error (the flow stays pending), with bounded memory", () =>
    Effect.gen(function* () {
      const { sim, loginFlow } = yield* setup()
      const flow = yield* loginFlow.initiate
      yield* sim.grant({ flow: Redacted.value(flow.loginUrl), userId: "alice" })
      yield* sim.injectFault({ target: "poll", fault: Simulator.Fault.hugeBody(100 * MiB, "json"), times: 1 })
      const { failure, growth } = yield* withPeakRss(loginFlow.poll(flow.pollEndpoint, flow.pollToken))
      expect(failure).toMatchObject({ ...tooLarge, operation: "LoginFlowClient.poll" })
      expect(growth).toBeLessThan(50 * MiB)
      // The faulted poll never reached the flow: the next one completes it.
      expect((yield* loginFlow.poll(flow.pollEndpoint, flow.pollToken))._tag).toBe("Completed")
    }))

  it.scopedLive("a PROPFIND answer over the cap, announced by Content-Length, is refused", () =>
    Effect.gen(function* () {
      const { sim, account, dav } = yield* setup({ maxResponseBytes: MiB })
      yield* sim.injectFault({ target: "dav.propfind", fault: Simulator.Fault.hugeBody(100 * MiB, "xml", { announce: true }) })
      const error = yield* Effect.flip(dav.list(account, [], 1))
      expect(fieldsOf(error)).toMatchObject({ ...tooLarge, detail: "the answer is larger than NC_MCP_MAX_RESPONSE_BYTES (1 MiB)" })
      // Not a server failure: never retried.
      expect((yield* sim.counters).requests["dav.propfind"]).toBe(1)
    }))

  it.scopedLive("a Content-Length over the cap is refused at once, without waiting for the body", () =>
    Effect.gen(function* () {
      // Announces 50 MiB and then sends nothing: a reader that waited for the body would time out instead.
      const stub = yield* startStub((_, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(50 * MiB) })
        res.flushHeaders()
      })
      const context = yield* Layer.build(
        NextcloudLive.pipe(Layer.provide(NextcloudConfig.make(stub.base, { requestTimeout: Duration.seconds(20) })))
      )
      const notes = yield* Effect.provide(Notes, context)
      const error = yield* Effect.flip(notes.list({ loginName: "ada", appPassword: Redacted.make("x".repeat(72)) }))
      expect(fieldsOf(error)).toMatchObject(tooLarge)
    }))

  it.scopedLive("a file read: the caller's smaller cap is FileTooLarge material, the server's cap a protocol error", () =>
    Effect.gen(function* () {
      const { sim, account, dav } = yield* setup({ maxResponseBytes: 64 * 1024 })
      yield* sim.seedFile({ userId: "ada-5c7e", path: "a.bin", size: 100 * 1024 })
      expect(fieldsOf(yield* Effect.flip(dav.read(account, ["a.bin"], 1024)))).toMatchObject({ _tag: "NextcloudBodyTooLarge", limit: 1024 })
      expect(fieldsOf(yield* Effect.flip(dav.read(account, ["a.bin"], MiB)))).toMatchObject({
        _tag: "NextcloudProtocolError",
        detail: "the answer is larger than NC_MCP_MAX_RESPONSE_BYTES (64 KiB)"
      })
    }))
})

describe("one time budget per call", () => {
  const timeout = Duration.millis(300)

  it.scopedLive("a stalled notes list fails after the timeout, and only one request reached Nextcloud", () =>
    Effect.gen(function* () {
      const { sim, account, notes } = yield* setup({ requestTimeout: timeout })
      yield* sim.injectFault({ target: "notes.list", fault: Simulator.Fault.latency(10_000) })
      const started = Date.now()
      const error = yield* Effect.flip(notes.list(account))
      // Far less than the latency: the call did not wait for the answer or try again.
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(fieldsOf(error)).toMatchObject({ _tag: "NextcloudTransportError", reason: "timeout", waited: timeout })
      expect((yield* sim.counters).requests["notes.list"]).toBe(1)
      if (error._tag === "NextcloudTransportError") {
        expect(describeNextcloudFailure(new URL(sim.url), "list your notes", error).message).toBe(
          `Nextcloud at ${sim.url} did not answer within 0.3 s while trying to list your notes. Try again later.`
        )
      }
    }))

  it.scopedLive("a timed-out PROPFIND is not repeated", () =>
    Effect.gen(function* () {
      const { sim, account, dav } = yield* setup({ requestTimeout: timeout })
      yield* sim.injectFault({ target: "dav.propfind", fault: Simulator.Fault.latency(10_000) })
      expect(fieldsOf(yield* Effect.flip(dav.list(account, [], 1)))).toMatchObject({ _tag: "NextcloudTransportError", reason: "timeout" })
      expect((yield* sim.counters).requests["dav.propfind"]).toBe(1)
    }))

  it.scopedLive("a 5xx is retried for a read, inside the budget; a write is never repeated", () =>
    Effect.gen(function* () {
      const { sim, account, notes } = yield* setup()
      yield* sim.injectFault({ target: "notes.list", fault: Simulator.Fault.status(503), times: 2 })
      expect((yield* notes.list(account)).notes).toEqual([])
      expect((yield* sim.counters).requests["notes.list"]).toBe(3)
      yield* sim.injectFault({ target: "notes.create", fault: Simulator.Fault.status(503), times: 1 })
      expect(fieldsOf(yield* Effect.flip(notes.create(account, { title: "x" })))).toMatchObject({ status: 503 })
      expect((yield* sim.counters).requests["notes.create"]).toBe(1)
      expect(yield* sim.listNotes("ada-5c7e")).toEqual([])
    }))

  it.scopedLive("a 5xx that came late is the answer: no retry once half the budget is spent", () =>
    Effect.gen(function* () {
      const stub = yield* startStub((_, res) => later(600, () => json(res, 503, { message: "gateway timeout" })))
      const context = yield* Layer.build(NextcloudLive.pipe(Layer.provide(NextcloudConfig.make(stub.base, { requestTimeout: Duration.seconds(1) }))))
      const notes = yield* Effect.provide(Notes, context)
      const error = yield* Effect.flip(notes.list({ loginName: "ada", appPassword: Redacted.make("x".repeat(72)) }))
      expect(fieldsOf(error)).toMatchObject({ _tag: "NextcloudProtocolError", status: 503 })
      expect(stub.requests).toHaveLength(1)
    }))
})
