/**
 * URLs Nextcloud returns are only a path and query on a pinned origin
 * (docs/tool-contract.md §6, §8): nothing in them (`//host`, backslashes, encoded
 * separators, userinfo) can send a request or a user anywhere else.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, FastCheck, Layer, Redacted } from "effect"
import { NextcloudLive } from "../../src/app.js"
import { LoginFlowClient } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { pinnedUrl } from "../../src/nextcloud/pinnedUrl.js"
import * as Simulator from "../../src/simulator/index.js"
import { json, startStub, token128 } from "./stub.js"

const origin = new URL("https://cloud.example.com:8443/nextcloud")

const pinned = (returned: string): string =>
  Either.match(pinnedUrl(origin, returned), { onLeft: (reason) => `refused: ${reason}`, onRight: (url) => url.href })

const piece = FastCheck.constantFrom(
  "/", "//", "///", "\\", "\\\\", "/\\", "\\/", "%2F", "%2f", "%5C", "%5c", "%2e", "%2e%2e", ".", "..", "@", ":",
  "?", "#", " ", "\t", "\n", "\r", "\u0000", "\u00e9", "http:", "https:", "HTTP:", "ftp:", "evil.example", ":8080",
  "user:pw@", "[::1]", "127.0.0.1", "index.php", "login", "v2", "poll", "%", "%zz"
)
const hostile = FastCheck.array(piece, { maxLength: 14 }).map((pieces) => pieces.join(""))
/** Strings a broken or hostile Nextcloud might return where a URL belongs. */
const returned = FastCheck.oneof(hostile, FastCheck.string(), FastCheck.webUrl({ withQueryParameters: true, withFragments: true }))

describe("pinnedUrl", () => {
  const kept: ReadonlyArray<readonly [string, string]> = [
    ["http://10.0.0.5:8080/nextcloud/index.php/login/v2/poll", "/nextcloud/index.php/login/v2/poll"],
    ["http://cloud.example.com//index.php/login/v2/poll", "/index.php/login/v2/poll"],
    ["http://cloud.example.com//evil.example:8080/index.php/login/v2/poll?x=1", "/evil.example:8080/index.php/login/v2/poll?x=1"],
    ["//evil.example:8080/steal", "/evil.example:8080/steal"],
    ["/index.php/login/v2/flow/abc", "/index.php/login/v2/flow/abc"],
    ["http://h/\\evil.example/x", "/%5Cevil.example/x"],
    ["/\\evil.example/x", "/%5Cevil.example/x"],
    ["\\\\evil.example\\x", "/%5C%5Cevil.example%5Cx"],
    ["http:\\\\evil.example\\x", "/%5Cx"],
    ["http://h/%2F%2Fevil.example/x", "/%2F%2Fevil.example/x"],
    ["http://h/%5C%5Cevil.example/x", "/%5C%5Cevil.example/x"],
    ["https://user:secret@evil.example/x#fragment", "/x"],
    ["http://evil.example", "/"],
    [" \t//\nevil.example/x ", "/evil.example/x"],
    ["HTTP://evil.example/a/../../b", "/b"]
  ]
  for (const [returned, path] of kept) {
    it(`${JSON.stringify(returned)} → ${path}`, () => {
      expect(pinned(returned)).toBe(`https://cloud.example.com:8443${path}`)
    })
  }

  for (const returned of ["javascript:alert(1)", "file:///etc/passwd", "evil.example:8080/x", "poll", "", "?token=1"]) {
    it(`refuses ${JSON.stringify(returned)}`, () => {
      expect(pinned(returned)).toMatch(/^refused: /)
    })
  }

  it("property: whatever comes back, the URL (also parsed again from its text) is on the pinned origin", () => {
    FastCheck.assert(
      FastCheck.property(returned, (text) => {
        const result = pinnedUrl(origin, text)
        if (Either.isLeft(result)) return
        const reparsed = new URL(result.right.href)
        expect(reparsed.origin).toBe(origin.origin)
        expect(reparsed.pathname.startsWith("//")).toBe(false)
        expect(reparsed.pathname).not.toContain("\\")
      }),
      { numRuns: 3000 }
    )
  })
})

const pollToken = token128("PoLLt0ken")

describe("the login flow client keeps requests on the pinned origins", () => {
  it.scopedLive("property: for any poll endpoint Nextcloud returns, the poll goes to NEXTCLOUD_HOST or nowhere", () =>
    Effect.gen(function* () {
      const evil = yield* startStub((_, res) => json(res, 200, { server: "x", loginName: "x", appPassword: "x".repeat(72) }))
      let endpoint = ""
      // Only the init request has no body; every poll carries the token.
      const nextcloud = yield* startStub((request, res) =>
        request.body === "" ? json(res, 200, { poll: { token: pollToken, endpoint }, login: endpoint }) : json(res, 404, [])
      )
      const evilHost = `127.0.0.1:${evil.port}`
      const hostileToEvil = FastCheck.array(
        FastCheck.constantFrom("/", "//", "\\", "/\\", "%2F", "%5C", "@", "http:", evilHost, `//${evilHost}`, "index.php", "poll", "?"),
        { maxLength: 8 }
      ).map((pieces) => pieces.join(""))
      const client = NextcloudLive.pipe(
        Layer.provide(NextcloudConfig.make(nextcloud.base, { publicUrl: new URL("https://public.example"), requestTimeout: Duration.seconds(2) }))
      )
      const run = (returned: string) =>
        Effect.gen(function* () {
          endpoint = returned
          const before = nextcloud.requests.length
          const flows = yield* LoginFlowClient
          const flow = yield* Effect.either(flows.initiate)
          if (Either.isLeft(flow)) return // refused as unusable: nothing was sent anywhere
          expect(new URL(Redacted.value(flow.right.loginUrl)).origin).toBe("https://public.example")
          expect(new URL(flow.right.pollEndpoint).origin).toBe(nextcloud.base)
          expect(yield* flows.poll(flow.right.pollEndpoint, flow.right.pollToken)).toEqual({ _tag: "Pending" })
          expect(nextcloud.requests.length).toBe(before + 2)
        }).pipe(Effect.provide(client), Effect.runPromise)
      yield* Effect.promise(() =>
        FastCheck.assert(FastCheck.asyncProperty(FastCheck.oneof(hostileToEvil, returned), run), { numRuns: 60 })
      )
      expect(evil.requests).toEqual([])
    }))
})

describe("a stored poll endpoint", () => {
  it.scopedLive("is polled on NEXTCLOUD_HOST even when it names another host (stored by an older version)", () =>
    Effect.gen(function* () {
      const evil = yield* startStub((_, res) => json(res, 404, []))
      const nextcloud = yield* startStub((_, res) => json(res, 404, []))
      const client = NextcloudLive.pipe(Layer.provide(NextcloudConfig.make(nextcloud.base)))
      const result = yield* Effect.flatMap(LoginFlowClient, (flows) =>
        flows.poll(`${evil.base}/index.php/login/v2/poll`, Redacted.make(pollToken))
      ).pipe(Effect.provide(client))
      expect(result).toEqual({ _tag: "Pending" })
      expect(nextcloud.requests.map((r) => r.url)).toEqual(["/index.php/login/v2/poll"])
      expect(evil.requests).toEqual([])
    }))
})

describe("against the simulated Nextcloud", () => {
  it.scopedLive("a webroot ending in / (http://host//index.php/login/v2/poll) is polled on NEXTCLOUD_HOST and completes", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ overwriteWebroot: "/" })
      const client = NextcloudLive.pipe(Layer.provide(NextcloudConfig.make(sim.url)))
      const completed = yield* Effect.gen(function* () {
        const flows = yield* LoginFlowClient
        const flow = yield* flows.initiate
        expect(flow.pollEndpoint).toBe(`${sim.url}/index.php/login/v2/poll`)
        yield* sim.grant({ flow: Redacted.value(flow.loginUrl), userId: "alice" })
        return yield* flows.poll(flow.pollEndpoint, flow.pollToken)
      }).pipe(Effect.provide(client))
      expect(completed._tag).toBe("Completed")
    }))

  it.scopedLive("answers pointing at another host never send the poll token or the user there", () =>
    Effect.gen(function* () {
      const evil = yield* startStub((_, res) => json(res, 404, []))
      const evilHost = `127.0.0.1:${evil.port}`
      const sim = yield* Simulator.make()
      const client = NextcloudLive.pipe(
        Layer.provide(NextcloudConfig.make(sim.url, { publicUrl: new URL("https://cloud.example.com") }))
      )
      const shapes: ReadonlyArray<Simulator.ConfigPatch> = [
        { overwriteWebroot: `//${evilHost}` },
        { overwriteWebroot: `/\\${evilHost}` },
        { overwriteWebroot: `/%2F%2F${evilHost}` },
        { overwriteWebroot: `/%5C${evilHost}` },
        { externalBaseUrl: `//${evilHost}` },
        { externalBaseUrl: `http:\\\\${evilHost}` },
        { externalBaseUrl: `http://${evilHost}` }
      ]
      for (const shape of shapes) {
        yield* sim.configure({ overwriteWebroot: "", externalBaseUrl: null, ...shape })
        yield* sim.resetCounters
        const outcome = yield* Effect.gen(function* () {
          const flows = yield* LoginFlowClient
          const flow = yield* flows.initiate
          expect(new URL(Redacted.value(flow.loginUrl)).origin, JSON.stringify(shape)).toBe("https://cloud.example.com")
          expect(new URL(flow.pollEndpoint).origin, JSON.stringify(shape)).toBe(sim.url)
          yield* sim.grant({ flow: Redacted.value(flow.loginUrl), userId: "alice" })
          return yield* flows.poll(flow.pollEndpoint, flow.pollToken)
        }).pipe(Effect.provide(client))
        const { requests } = yield* sim.counters
        // The poll reached the simulator: at its own poll route when the path was intact, else a 404 (still pending).
        expect(outcome._tag === "Completed" ? requests["poll"] : requests["other"], JSON.stringify(shape)).toBe(1)
      }
      expect(evil.requests).toEqual([])
    }))
})
