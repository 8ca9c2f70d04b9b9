/**
 * The generic DAV layer (discovery, multistatus, GET/PUT/DELETE with
 * preconditions) against a tiny sabre/dav-like server installed under a
 * sub-path (`/nextcloud`) that answers with a host of its own in absolute
 * hrefs, and against Radicale behind Nextcloud's DAV paths.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { HttpClient } from "@effect/platform"
import { Effect, Either, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeDavDiscovery } from "../../src/nextcloud/davDiscovery.js"
import {
  CALDAV_NS,
  ifMatchValue,
  makeDavObjects,
  multigetBody,
  parseDavMultistatus,
  propRawText,
  sameEtag,
  xmlText
} from "../../src/nextcloud/davObjects.js"
import { HttpClientLive } from "../../src/nextcloud/HttpClientLive.js"
import { NextcloudConfig, type NextcloudConfigShape } from "../../src/nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../src/nextcloud/Ocs.js"
import { radicaleAvailable, type RadicaleServer, startRadicale } from "../support/radicale.js"

const run = <A, E>(host: string, f: (dav: ReturnType<typeof makeDavObjects>) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const config: NextcloudConfigShape = yield* NextcloudConfig
      const client = yield* HttpClient.HttpClient
      return yield* f(makeDavObjects(client, config))
    }).pipe(Effect.provide(HttpClientLive), Effect.provide(NextcloudConfig.make(host)))
  )

describe("multistatus and etags", () => {
  it("keeps etags as sent and pins hrefs on the configured origin", () => {
    const body = `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:cal="${CALDAV_NS}">
      <d:response><d:href>https://internal.example:8443//nextcloud/remote.php/dav/calendars/a/personal/x%20y.ics</d:href>
        <d:propstat><d:prop><d:getetag>W/&quot;abc&quot;</d:getetag><cal:calendar-data>BEGIN:VCALENDAR&#13;
END:VCALENDAR&#13;
</cal:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
        <d:propstat><d:prop><d:displayname/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
      </d:response>
      <d:response><d:href>/nextcloud/remote.php/dav/calendars/a/personal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
    </d:multistatus>`
    const parsed = parseDavMultistatus(body, new URL("http://127.0.0.1:9/nextcloud"))
    if (Either.isLeft(parsed)) throw new Error(parsed.left)
    const [one, gone] = parsed.right
    expect(one?.url.href).toBe("http://127.0.0.1:9/nextcloud/remote.php/dav/calendars/a/personal/x%20y.ics")
    expect(one?.etag).toBe('W/"abc"')
    expect(one?.status).toBeNull()
    expect(one && propRawText(one, CALDAV_NS, "calendar-data")).toBe("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    expect(one?.props.has("DAV: displayname")).toBe(false)
    expect(gone?.status).toBe(404)
  })

  it("sends etags back unchanged, quoting only bare ones", () => {
    expect(ifMatchValue('"abc"')).toBe('"abc"')
    expect(ifMatchValue('W/"abc"')).toBe('W/"abc"')
    expect(ifMatchValue("abc")).toBe('"abc"')
    expect(sameEtag('W/"abc"', "abc")).toBe(true)
    expect(xmlText(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&apos;")
    expect(multigetBody("calendar", [new URL("http://h/a%20b/c.ics")])).toContain("<d:href>/a%20b/c.ics</d:href>")
  })
})

/** A sabre/dav-like server below `/nextcloud`; absolute hrefs name a host the client must ignore. */
const subPathServer = () => {
  const objects = new Map<string, { body: string; etag: string }>()
  let version = 0
  const requests: Array<string> = []
  const ms = (inner: string) =>
    `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:cal="${CALDAV_NS}" xmlns:card="urn:ietf:params:xml:ns:carddav">${inner}</d:multistatus>`
  const ok = (href: string, props: string) =>
    `<d:response><d:href>${href}</d:href><d:propstat><d:prop>${props}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString("utf8")))
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname
      requests.push(`${req.method} ${path}`)
      const xml = (status: number, text: string) => res.writeHead(status, { "content-type": "application/xml; charset=utf-8" }).end(text)
      if (req.method === "PROPFIND" && path === "/nextcloud/remote.php/dav/") {
        return xml(207, ms(ok("/nextcloud/remote.php/dav/", "<d:current-user-principal><d:href>/nextcloud/remote.php/dav/principals/users/al%20ice/</d:href></d:current-user-principal>")))
      }
      if (req.method === "PROPFIND" && path === "/nextcloud/remote.php/dav/principals/users/al%20ice/") {
        return xml(
          207,
          ms(
            ok(
              path,
              body.includes("calendar-home-set")
                ? "<cal:calendar-home-set><d:href>https://nc.internal//nextcloud/remote.php/dav/calendars/al%20ice/</d:href></cal:calendar-home-set>"
                : "<card:addressbook-home-set><d:href>/nextcloud/remote.php/dav/addressbooks/users/al%20ice/</d:href></card:addressbook-home-set>"
            )
          )
        )
      }
      if (req.method === "PUT") {
        const existing = objects.get(path)
        const ifMatch = req.headers["if-match"]
        if (req.headers["if-none-match"] === "*" && existing !== undefined) return res.writeHead(412).end()
        if (ifMatch !== undefined && ifMatch !== existing?.etag) return res.writeHead(412).end()
        const etag = `W/"v${++version}"`
        objects.set(path, { body, etag })
        return res.writeHead(existing === undefined ? 201 : 204, { etag }).end()
      }
      if (req.method === "GET") {
        const existing = objects.get(path)
        if (existing === undefined) return res.writeHead(404).end()
        return res.writeHead(200, { etag: existing.etag, "content-type": "text/calendar; charset=utf-8" }).end(existing.body)
      }
      if (req.method === "DELETE") {
        const existing = objects.get(path)
        if (existing === undefined) return res.writeHead(404).end()
        const ifMatch = req.headers["if-match"]
        if (ifMatch !== undefined && ifMatch !== existing.etag) return res.writeHead(412).end()
        objects.delete(path)
        return res.writeHead(204).end()
      }
      return res.writeHead(405).end()
    })
  }
  return { handler, requests }
}

describe("discovery and objects on a sub-path install", () => {
  let server: Server
  let host = ""
  const fake = subPathServer()
  beforeAll(async () => {
    server = createServer(fake.handler)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const address = server.address()
    host = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/nextcloud`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const account: DavAccount = { loginName: "alice@example.org", userId: "al ice", appPassword: Redacted.make("pw") }

  it("finds both homes once, without doubling the sub-path, on the configured origin", async () => {
    const origin = new URL(host).origin
    const [calendar, addressbook, again] = await run(host, (dav) =>
      Effect.gen(function* () {
        const discovery = makeDavDiscovery(dav)
        return [
          yield* discovery.homeSet(account, "calendar"),
          yield* discovery.homeSet(account, "addressbook"),
          yield* discovery.homeSet(account, "calendar")
        ] as const
      })
    )
    expect(calendar.href).toBe(`${origin}/nextcloud/remote.php/dav/calendars/al%20ice/`)
    expect(addressbook.href).toBe(`${origin}/nextcloud/remote.php/dav/addressbooks/users/al%20ice/`)
    expect(again.href).toBe(calendar.href)
    expect(fake.requests.filter((r) => r.startsWith("PROPFIND"))).toHaveLength(4)
  })

  it("creates only when absent, updates only at the etag it read, deletes by href", async () => {
    const url = new URL(`${host}/remote.php/dav/calendars/al%20ice/personal/odd%20name.ics`)
    const result = await run(host, (dav) =>
      Effect.gen(function* () {
        const created = yield* dav.put("t", account, url, "A", "text/calendar", { ifNoneMatch: "*" })
        const again = yield* Effect.flip(dav.put("t", account, url, "B", "text/calendar", { ifNoneMatch: "*" }))
        const read = yield* dav.get("t", account, url, "text/calendar")
        const updated = yield* dav.put("t", account, url, "C", "text/calendar", { ifMatch: read.etag ?? "" })
        const stale = yield* Effect.flip(dav.put("t", account, url, "D", "text/calendar", { ifMatch: read.etag ?? "" }))
        const staleDelete = yield* Effect.flip(dav.remove("t", account, url, read.etag))
        yield* dav.remove("t", account, url, updated.etag)
        const gone = yield* Effect.flip(dav.get("t", account, url, "text/calendar"))
        return { created, again, read, updated, stale, staleDelete, gone }
      })
    )
    expect(result.created).toEqual({ created: true, etag: 'W/"v1"' })
    expect(result.again._tag).toBe("NextcloudPreconditionFailed")
    expect(result.read).toMatchObject({ body: "A", etag: 'W/"v1"' })
    expect(result.updated).toEqual({ created: false, etag: 'W/"v2"' })
    expect(result.stale._tag).toBe("NextcloudPreconditionFailed")
    expect(result.staleDelete._tag).toBe("NextcloudPreconditionFailed")
    expect(result.gone._tag).toBe("NextcloudNotFound")
  })
})

if (radicaleAvailable("DAV discovery and objects on Radicale")) {
  describe("discovery and objects on Radicale", () => {
    let radicale: RadicaleServer
    beforeAll(async () => {
      radicale = await startRadicale([{ userId: "alice", password: "alice-pw" }])
    })
    afterAll(async () => {
      await radicale?.stop()
    })
    const account: DavAccount = { loginName: "alice", userId: "alice", appPassword: Redacted.make("alice-pw") }

    it("discovers both homes and round-trips an object with its etag", async () => {
      const result = await run(radicale.url, (dav) =>
        Effect.gen(function* () {
          const discovery = makeDavDiscovery(dav)
          const calendar = yield* discovery.homeSet(account, "calendar")
          const addressbook = yield* discovery.homeSet(account, "addressbook")
          const url = new URL(`${calendar.href}personal/a%20b.ics`)
          const ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:a b\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
          const created = yield* dav.put("t", account, url, ics, "text/calendar; charset=utf-8", { ifNoneMatch: "*" })
          const twice = yield* Effect.flip(dav.put("t", account, url, ics, "text/calendar; charset=utf-8", { ifNoneMatch: "*" }))
          const read = yield* dav.get("t", account, url, "text/calendar")
          const multiget = yield* dav.report("t", account, new URL(`${calendar.href}personal/`), "1", multigetBody("calendar", [url]))
          const stale = yield* Effect.flip(dav.remove("t", account, url, '"nope"'))
          yield* dav.remove("t", account, url, read.etag)
          return { calendar, addressbook, created, twice, read, multiget, stale }
        })
      )
      expect(result.calendar.pathname).toBe("/remote.php/dav/calendars/alice/")
      expect(result.addressbook.pathname).toBe("/remote.php/dav/addressbooks/users/alice/")
      expect(result.created.created).toBe(true)
      expect(result.twice._tag).toBe("NextcloudPreconditionFailed")
      expect(result.read.body).toContain("UID:a b")
      expect(result.multiget).toHaveLength(1)
      expect(result.multiget[0]?.url.pathname).toBe("/remote.php/dav/calendars/alice/personal/a%20b.ics")
      expect(result.multiget[0]?.etag).toBe(result.read.etag)
      expect(result.stale._tag).toBe("NextcloudPreconditionFailed")
    })
  })
}
