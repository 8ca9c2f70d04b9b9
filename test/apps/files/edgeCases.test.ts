/**
 * Files cases no real server here can show: a slow listing against the time
 * budget (simulator latency), a server that redirects collections to their
 * slash form, a partial (207) DELETE, and the http body limit against the
 * largest write.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted } from "effect"
import { DavPartialFailure, WebDav, WebDavLive } from "../../../src/apps/files/Client.js"
import { MAX_TEXT_BYTES } from "../../../src/apps/files/tools.js"
import { DEFAULT_MAX_BODY_BYTES } from "../../../src/mcp/http/messages.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../../src/nextcloud/Ocs.js"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import { startStub } from "../../nextcloud/stub.js"

const account: DavAccount = { loginName: "ada", appPassword: Redacted.make("x".repeat(72)), userId: "ada" }

const clientOn = (base: string) =>
  Effect.flatMap(Layer.build(withTransport(WebDavLive).pipe(Layer.provide(NextcloudConfig.make(base)))), (context) =>
    Effect.provide(WebDav, context)
  )

const multistatus = (hrefs: ReadonlyArray<string>) =>
  `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">${hrefs
    .map(
      (href) =>
        `<d:response><d:href>${href}</d:href><d:propstat><d:prop><d:resourcetype>${href.endsWith("/") ? "<d:collection/>" : ""}</d:resourcetype><d:getetag>"e"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`
    )
    .join("")}</d:multistatus>`

describe("collections that want their slash (RFC 4918 §5.2)", () => {
  it.scopedLive("a 301 to the slash form is followed once for list, move and delete; MKCOL uses the slash form", () =>
    Effect.gen(function* () {
      const stub = yield* startStub((request, response) => {
        const path = new URL(request.url, "http://x").pathname
        if (path === "/remote.php/dav/files/ada/Photos") {
          response.writeHead(301, { location: `http://elsewhere.example${path}/` }).end()
          return
        }
        if (request.method === "PROPFIND") {
          response.writeHead(207, { "content-type": "application/xml" }).end(multistatus([path, `${path}a.jpg`]))
          return
        }
        response.writeHead(request.method === "MKCOL" || request.method === "MOVE" ? 201 : 204).end()
      })
      const client = yield* clientOn(stub.base)
      const listed = yield* client.list(account, ["Photos"], 1)
      expect(listed.map((e) => e.name)).toEqual(["Photos", "a.jpg"])
      yield* client.move(account, ["Photos"], ["Pictures"], false)
      yield* client.remove(account, ["Photos"])
      yield* client.mkdir(account, ["New"])
      const seen = stub.requests.map((r) => `${r.method} ${r.url}`)
      expect(seen).toEqual([
        "PROPFIND /remote.php/dav/files/ada/Photos",
        "PROPFIND /remote.php/dav/files/ada/Photos/",
        "MOVE /remote.php/dav/files/ada/Photos",
        "MOVE /remote.php/dav/files/ada/Photos/",
        "DELETE /remote.php/dav/files/ada/Photos",
        "DELETE /remote.php/dav/files/ada/Photos/",
        "MKCOL /remote.php/dav/files/ada/New/"
      ])
      // The retried MOVE names the destination in the slash form too; the redirect's host is never used.
      expect(stub.requests[3]?.headers["destination"]).toBe(`${stub.base}/remote.php/dav/files/ada/Pictures/`)
    }))
})

describe("a partial DELETE", () => {
  it.scopedLive("207 with failed members is a DavPartialFailure naming them; 207 with none failed is success", () =>
    Effect.gen(function* () {
      let body =
        '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/remote.php/dav/files/ada/Old/keep%20me.txt</d:href>' +
        "<d:status>HTTP/1.1 403 Forbidden</d:status></d:response></d:multistatus>"
      const stub = yield* startStub((_, response) => {
        response.writeHead(207, { "content-type": "application/xml" }).end(body)
      })
      const client = yield* clientOn(stub.base)
      const error = yield* Effect.flip(client.remove(account, ["Old"]))
      expect(error).toBeInstanceOf(DavPartialFailure)
      expect(error).toMatchObject({ status: 207, failures: [{ path: ["Old", "keep me.txt"], status: 403 }] })
      body = '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"></d:multistatus>'
      yield* client.remove(account, ["Old"])
    }))
})

describe("the time budget (CONTRACT §8)", () => {
  const harness = useHarness({ user: "ada-local", nextcloud: { requestTimeout: Duration.millis(700) } })

  it("a listing slower than the budget is sent once and fails saying how long it waited; a slow one within it succeeds", async () => {
    const h = await harness.start()
    await h.provision(["files.read"])
    await h.sim.resetCounters()
    await h.sim.injectFault({ target: "dav.propfind", fault: Fault.latency(3_000), times: 1 })
    const slow = await h.call("nc_files_list")
    expect(slow.structuredContent).toMatchObject({ success: false, error_code: "NextcloudUnreachable" })
    expect(String(slow.structuredContent.message)).toContain("0.7 s")
    expect((await h.sim.counters()).requests["dav.propfind"]).toBe(1)
    await h.sim.injectFault({ target: "dav.propfind", fault: Fault.latency(200), times: 1 })
    expect((await h.call("nc_files_list")).structuredContent).toMatchObject({ success: true })
  })

  it("the search goes to Nextcloud's SEARCH once, not a folder walk", async () => {
    const h = await harness.start()
    await h.provision(["files.read"])
    await h.sim.seedFile({ userId: "ada-5c7e", path: "a/b/c/report.md", content: "r" })
    await h.sim.resetCounters()
    const found = await h.call("nc_files_search", { query: "REPORT" })
    expect(found.structuredContent).toMatchObject({ success: true, complete: true, count: 1 })
    const counters = (await h.sim.counters()).requests
    expect([counters["dav.search"], counters["dav.propfind"]]).toEqual([1, undefined])
  })
})

describe("the http body limit", () => {
  it("carries a 1 MiB nc_files_write whatever its characters", () => {
    const call = (content: string) =>
      Buffer.byteLength(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "nc_files_write", arguments: { path: "Documents/x.txt", content, if_match: '"abc"' } }
        })
      )
    expect(call("\u0001".repeat(MAX_TEXT_BYTES))).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES)
    expect(call('"'.repeat(MAX_TEXT_BYTES))).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES)
    expect(call("€".repeat(MAX_TEXT_BYTES / 3))).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES)
  })
})
