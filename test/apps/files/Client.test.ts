import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { WebDav, WebDavLive } from "../../../src/apps/files/Client.js"
import { filesSimulator } from "../../../src/apps/files/simulator.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../../src/nextcloud/Ocs.js"
import * as Simulator from "../../../src/simulator/index.js"
import { fieldsOf, startStub } from "../../nextcloud/stub.js"

/** The files client alone on the shared transport, as the app's folder provides it. */
const NextcloudLive = withTransport(WebDavLive)

const setup = Effect.gen(function* () {
  const sim = yield* Simulator.make({ apps: [filesSimulator] })
  const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
  const account: DavAccount = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password), userId: "ada-5c7e" }
  const clients = NextcloudLive.pipe(Layer.provide(NextcloudConfig.make(sim.url)))
  const context = yield* Layer.build(clients)
  return { sim, account, pw: pw.password, provide: <A, E>(effect: Effect.Effect<A, E, WebDav>) => Effect.provide(effect, context) }
})

const dav = Effect.flatMap(WebDav, Effect.succeed)

describe("WebDav client against the simulator", () => {
  it.scopedLive("write, list, read, mkdir, move, remove with the uid in paths and the login name in Basic auth", () =>
    Effect.gen(function* () {
      const { sim, account, provide } = yield* setup
      const client = yield* provide(dav)
      const created = yield* client.write(account, ["hello world.txt"], "hi")
      expect(created.created).toBe(true)
      expect(created.etag).toMatch(/^"[0-9a-f]+"$/)
      const overwritten = yield* client.write(account, ["hello world.txt"], "hello", { ifMatch: created.etag ?? "" })
      expect(overwritten.created).toBe(false)
      const stale = yield* Effect.flip(client.write(account, ["hello world.txt"], "x", { ifMatch: created.etag ?? "" }))
      expect(stale._tag).toBe("NextcloudPreconditionFailed")
      const exists = yield* Effect.flip(client.write(account, ["hello world.txt"], "x", { createOnly: true }))
      expect(exists._tag).toBe("NextcloudPreconditionFailed")

      yield* client.mkdir(account, ["Dir %2e%2e"])
      expect((yield* Effect.flip(client.mkdir(account, ["Dir %2e%2e"])))._tag).toBe("NextcloudNotAllowed")
      expect((yield* Effect.flip(client.mkdir(account, ["a", "b"])))._tag).toBe("NextcloudConflict")
      const moved = yield* client.move(account, ["hello world.txt"], ["Dir %2e%2e", "h.txt"], false)
      expect(moved.overwritten).toBe(false)

      const [self, ...children] = yield* client.list(account, [], 1)
      expect(self).toMatchObject({ path: [], name: "", isCollection: true })
      expect(children.map((c) => c.name)).toEqual(["Dir %2e%2e"])
      const inside = yield* client.list(account, ["Dir %2e%2e"], 1)
      expect(inside[1]).toMatchObject({ path: ["Dir %2e%2e", "h.txt"], isCollection: false, size: 5, contentType: "text/plain" })
      expect((yield* sim.listFiles("ada-5c7e")).map((f) => f.path)).toEqual(["/Dir %2e%2e", "/Dir %2e%2e/h.txt"])

      const file = yield* client.read(account, ["Dir %2e%2e", "h.txt"], 1024)
      expect(new TextDecoder().decode(file.bytes)).toBe("hello")
      expect(file.etag).toBe(inside[1]?.etag)

      yield* client.remove(account, ["Dir %2e%2e"])
      expect((yield* Effect.flip(client.list(account, ["Dir %2e%2e"], 0)))._tag).toBe("NextcloudNotFound")
    }))

  it.scopedLive("refuses a body over the limit without reading it all", () =>
    Effect.gen(function* () {
      const { sim, account, provide } = yield* setup
      yield* sim.seedFile({ userId: "ada-5c7e", path: "big.log", size: 10 * 1024 * 1024 })
      const client = yield* provide(dav)
      const error = yield* Effect.flip(client.read(account, ["big.log"], 1024 * 1024))
      expect(error).toMatchObject({ _tag: "NextcloudBodyTooLarge", size: 10 * 1024 * 1024, limit: 1024 * 1024 })
    }))

  it.scopedLive("maps 401 (never retried), 507 and 423", () =>
    Effect.gen(function* () {
      const { sim, account, pw, provide } = yield* setup
      const client = yield* provide(dav)
      yield* sim.setQuota({ userId: "ada-5c7e", bytes: 1 })
      expect((yield* Effect.flip(client.write(account, ["q.txt"], "too much")))._tag).toBe("NextcloudInsufficientStorage")
      yield* sim.setQuota({ userId: "ada-5c7e", bytes: null })
      yield* sim.lockPath({ userId: "ada-5c7e", path: "q.txt" })
      expect((yield* Effect.flip(client.write(account, ["q.txt"], "x")))._tag).toBe("NextcloudLocked")
      yield* sim.revokeAppPassword(pw)
      yield* sim.resetCounters
      expect((yield* Effect.flip(client.list(account, [], 1)))._tag).toBe("NextcloudUnauthorized")
      expect((yield* sim.counters).requests["dav.propfind"]).toBe(1)
    }))

  it.scopedLive("retries a PROPFIND after a 503; a malformed multistatus is a protocol error", () =>
    Effect.gen(function* () {
      const { sim, account, provide } = yield* setup
      const client = yield* provide(dav)
      yield* sim.injectFault({ target: "dav.propfind", fault: Simulator.Fault.status(503), times: 1 })
      expect((yield* client.list(account, [], 0)).length).toBe(1)
      yield* sim.injectFault({ target: "dav.propfind", fault: Simulator.Fault.malformedJson(), times: 3 })
      const error = yield* Effect.flip(client.list(account, [], 0))
      expect(error._tag).toBe("NextcloudProtocolError")
    }))
})

describe("WebDav client against a hostile server", () => {
  it.scopedLive("a PROPFIND answer nested 200,000 deep is a protocol error, not a crash", () =>
    Effect.gen(function* () {
      const depth = 200_000
      const body =
        `<d:multistatus xmlns:d="DAV:"><d:response><d:href>${"<d:href>".repeat(depth)}/x${"</d:href>".repeat(depth)}</d:href>` +
        "<d:propstat><d:prop/></d:propstat></d:response></d:multistatus>"
      const stub = yield* startStub((_, res) => {
        res.writeHead(207, { "content-type": "application/xml; charset=utf-8" })
        res.end(body)
      })
      const context = yield* Layer.build(NextcloudLive.pipe(Layer.provide(NextcloudConfig.make(stub.base))))
      const client = yield* Effect.provide(dav, context)
      const account: DavAccount = { loginName: "ada", appPassword: Redacted.make("x".repeat(72)), userId: "ada" }
      const error = yield* Effect.flip(client.list(account, [], 1))
      expect(fieldsOf(error)).toMatchObject({ _tag: "NextcloudProtocolError", status: 207 })
      expect(error._tag === "NextcloudProtocolError" && error.detail).toContain("nested deeper than 256")
    }))
})
