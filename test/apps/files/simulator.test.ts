import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { filesSimulator } from "../../../src/apps/files/simulator.js"
import { startSimulator } from "../../../src/simulator/index.js"
import { basic } from "../../simulator/helpers.js"

/** Only this app mounted: its part needs nothing but the core. */
const startWithFiles = () => startSimulator({ apps: [filesSimulator] })

describe("WebDAV files", () => {
  let sim: Awaited<ReturnType<typeof startWithFiles>>
  let auth: string
  let root: string
  beforeAll(async () => {
    sim = await startWithFiles()
    // Login name differs from the uid: DAV paths use the uid.
    const pw = await sim.createAppPassword({ userId: "ada-5c7e" })
    auth = basic("ada@example.org", pw.password)
    root = `${sim.url}/remote.php/dav/files/ada-5c7e`
  })
  afterAll(() => sim.close())

  const dav = (method: string, path: string, init: { headers?: Record<string, string>; body?: string | Uint8Array } = {}) =>
    fetch(`${root}${path}`, { method, headers: { Authorization: auth, ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) })

  it("PUT creates (201) then overwrites (204) with ETags; GET returns the bytes", async () => {
    const created = await dav("PUT", "/hello.txt", { body: "hi" })
    expect(created.status).toBe(201)
    const etag = created.headers.get("etag")
    expect(etag).toMatch(/^"[0-9a-f]+"$/)
    const again = await dav("PUT", "/hello.txt", { body: "hello" })
    expect(again.status).toBe(204)
    expect(again.headers.get("etag")).not.toBe(etag)
    const got = await dav("GET", "/hello.txt")
    expect(got.status).toBe(200)
    expect(await got.text()).toBe("hello")
    expect(got.headers.get("etag")).toBe(again.headers.get("etag"))
    expect(got.headers.get("content-type")).toContain("text/plain")
  })

  it("If-Match / If-None-Match preconditions give 412", async () => {
    const put = await dav("PUT", "/cond.md", { body: "v1" })
    const etag = put.headers.get("etag") ?? ""
    expect((await dav("PUT", "/cond.md", { body: "v2", headers: { "If-Match": '"other"' } })).status).toBe(412)
    expect((await dav("PUT", "/cond.md", { body: "v2", headers: { "If-None-Match": "*" } })).status).toBe(412)
    expect((await dav("PUT", "/missing.md", { body: "v2", headers: { "If-Match": etag } })).status).toBe(412)
    expect((await dav("PUT", "/cond.md", { body: "v2", headers: { "If-Match": etag } })).status).toBe(204)
    expect((await sim.readFile({ userId: "ada-5c7e", path: "cond.md" })).content).toBe("v2")
  })

  it("PROPFIND depth 0 and 1 answer a multistatus with encoded hrefs", async () => {
    await sim.seedFile({ userId: "ada-5c7e", path: "My Docs/résumé #1.txt", content: "cv" })
    const one = await dav("PROPFIND", "/My%20Docs", { headers: { Depth: "1" } })
    expect(one.status).toBe(207)
    expect(one.headers.get("content-type")).toContain("xml")
    const xml = await one.text()
    expect(xml).toContain('<d:multistatus xmlns:d="DAV:"')
    expect(xml).toContain("<d:href>/remote.php/dav/files/ada-5c7e/My%20Docs/</d:href>")
    expect(xml).toContain("<d:href>/remote.php/dav/files/ada-5c7e/My%20Docs/r%C3%A9sum%C3%A9%20%231.txt</d:href>")
    expect(xml).toContain("<d:collection/>")
    expect(xml).toContain("<d:getcontentlength>2</d:getcontentlength>")
    expect(xml).toContain("HTTP/1.1 404 Not Found")
    const zero = await (await dav("PROPFIND", "/My%20Docs", { headers: { Depth: "0" } })).text()
    expect(zero.match(/<d:response>/g)).toHaveLength(1)
    expect((await dav("PROPFIND", "/nothing", { headers: { Depth: "0" } })).status).toBe(404)
  })

  it("MKCOL: 201, 405 when it exists, 409 without a parent", async () => {
    expect((await dav("MKCOL", "/Projects")).status).toBe(201)
    expect((await dav("MKCOL", "/Projects")).status).toBe(405)
    expect((await dav("MKCOL", "/a/b")).status).toBe(409)
    expect((await dav("PUT", "/nope/x.txt", { body: "x" })).status).toBe(409)
  })

  it("MOVE with Destination and Overwrite; DELETE", async () => {
    await sim.seedFile({ userId: "ada-5c7e", path: "m/one.txt", content: "1" })
    await sim.seedFile({ userId: "ada-5c7e", path: "m/two.txt", content: "2" })
    const dest = (p: string) => `${root}${p}`
    expect((await dav("MOVE", "/m/one.txt", { headers: { Destination: dest("/m/two.txt"), Overwrite: "F" } })).status).toBe(412)
    expect((await dav("MOVE", "/m/one.txt", { headers: { Destination: dest("/m/two.txt") } })).status).toBe(204)
    expect((await sim.readFile({ userId: "ada-5c7e", path: "m/two.txt" })).content).toBe("1")
    expect((await dav("MOVE", "/m/two.txt", { headers: { Destination: dest("/m/three.txt"), Overwrite: "F" } })).status).toBe(201)
    expect((await dav("MOVE", "/m/gone.txt", { headers: { Destination: dest("/m/x.txt") } })).status).toBe(404)
    expect((await dav("MOVE", "/m/three.txt", { headers: { Destination: dest("/nowhere/x.txt") } })).status).toBe(409)
    expect((await dav("MOVE", "/m", { headers: { Destination: dest("/m/inside") } })).status).toBe(409)
    expect((await dav("DELETE", "/m")).status).toBe(204)
    expect((await dav("DELETE", "/m")).status).toBe(404)
    expect((await sim.listFiles("ada-5c7e")).some((f) => f.path.startsWith("/m"))).toBe(false)
  })

  it("401 bad credentials, 403 another user's files, 507 quota, 423 locked", async () => {
    expect((await fetch(`${root}/`, { method: "PROPFIND", headers: { Authorization: basic("ada@example.org", "wrong") } })).status).toBe(401)
    expect((await fetch(`${root}/`, { method: "PROPFIND" })).status).toBe(401)
    const other = await fetch(`${sim.url}/remote.php/dav/files/alice/`, { method: "PROPFIND", headers: { Authorization: auth } })
    expect(other.status).toBe(403)

    await sim.setQuota({ userId: "ada-5c7e", bytes: 100 })
    const full = await dav("PUT", "/big.bin", { body: new Uint8Array(200) })
    expect(full.status).toBe(507)
    expect(await full.text()).toContain("InsufficientStorage")
    await sim.setQuota({ userId: "ada-5c7e", bytes: null })

    await sim.seedFolder({ userId: "ada-5c7e", path: "locked" })
    await sim.lockPath({ userId: "ada-5c7e", path: "locked" })
    expect((await dav("PUT", "/locked/x.txt", { body: "x" })).status).toBe(423)
    expect((await dav("DELETE", "/locked")).status).toBe(423)
    await sim.unlockPath({ userId: "ada-5c7e", path: "locked" })
    expect((await dav("PUT", "/locked/x.txt", { body: "x" })).status).toBe(201)
  })

  it("etags are strong: If-Match compares strongly (a W/ validator never matches), the If header compares as sent", async () => {
    const put = await dav("PUT", "/strong.txt", { body: "v1" })
    const etag = put.headers.get("etag") ?? ""
    expect((await dav("PUT", "/strong.txt", { body: "v2", headers: { "If-Match": `W/${etag}` } })).status).toBe(412)
    expect((await dav("PUT", "/strong.txt", { body: "v2", headers: { If: '(["other"])' } })).status).toBe(412)
    const viaIf = await dav("PUT", "/strong.txt", { body: "v2", headers: { If: `([${etag}])` } })
    expect(viaIf.status).toBe(204)
    expect((await dav("PUT", "/strong.txt", { body: "v3", headers: { "If-Match": viaIf.headers.get("etag") ?? "" } })).status).toBe(204)
  })

  it("keeps bytes as sent (a BOM included); COPY gives new file ids, MOVE keeps them", async () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x61])
    await dav("PUT", "/bom.csv", { body: bom })
    expect(new Uint8Array(await (await dav("GET", "/bom.csv")).arrayBuffer())).toEqual(bom)
    const idOf = async (path: string) =>
      /<oc:fileid>(\d+)<\/oc:fileid>/.exec(await (await dav("PROPFIND", path, { headers: { Depth: "0" } })).text())?.[1]
    const original = await idOf("/bom.csv")
    expect((await dav("COPY", "/bom.csv", { headers: { Destination: `${root}/copy.csv` } })).status).toBe(201)
    expect(await idOf("/copy.csv")).not.toBe(original)
    expect((await dav("MOVE", "/bom.csv", { headers: { Destination: `${root}/moved.csv` } })).status).toBe(201)
    expect(await idOf("/moved.csv")).toBe(original)
  })

  it("SEARCH at /remote.php/dav/ (basicsearch): like on the name, scope, nresults and firstresult", async () => {
    await dav("MKCOL", "/s/")
    await dav("PUT", "/s/Report-A.pdf", { body: "a" })
    await dav("PUT", "/s/report-b.pdf", { body: "b" })
    await dav("PUT", "/s/other.txt", { body: "o" })
    const query = (first: number) =>
      fetch(`${sim.url}/remote.php/dav/`, {
        method: "SEARCH",
        headers: { Authorization: auth, "Content-Type": "text/xml" },
        body:
          '<d:searchrequest xmlns:d="DAV:" xmlns:ns="https://github.com/icewind1991/SearchDAV/ns"><d:basicsearch>' +
          "<d:select><d:prop><d:getetag/></d:prop></d:select>" +
          "<d:from><d:scope><d:href>/files/ada-5c7e/s</d:href><d:depth>infinity</d:depth></d:scope></d:from>" +
          "<d:where><d:like><d:prop><d:displayname/></d:prop><d:literal>%report%</d:literal></d:like></d:where>" +
          "<d:orderby><d:order><d:prop><d:displayname/></d:prop><d:ascending/></d:order></d:orderby>" +
          `<d:limit><d:nresults>1</d:nresults><ns:firstresult>${first}</ns:firstresult></d:limit>` +
          "</d:basicsearch></d:searchrequest>"
      })
    const first = await query(0)
    expect(first.status).toBe(207)
    expect(await first.text()).toContain("/remote.php/dav/files/ada-5c7e/s/Report-A.pdf")
    expect(await (await query(1)).text()).toContain("/remote.php/dav/files/ada-5c7e/s/report-b.pdf")
    expect(await (await query(2)).text()).not.toContain("<d:response>")
  })
})
