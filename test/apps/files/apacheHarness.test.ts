/**
 * The Apache harness itself: mod_dav answers at Nextcloud's files path with
 * Basic auth from the generated htpasswd, and what it stores is on disk.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ApacheServer, apacheAvailable, startApache } from "../../support/apache.js"

if (apacheAvailable("Apache httpd mod_dav harness")) {
  describe("Apache mod_dav at Nextcloud's files path", () => {
    let apache: ApacheServer
    beforeAll(async () => {
      apache = await startApache([{ userId: "ada-5c7e", loginName: "ada@example.org", password: "first" }])
    })
    afterAll(async () => {
      await apache?.stop()
    })
    const basic = (name: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${name}:${password}`).toString("base64")}` })

    it("stores a PUT on disk and lists it; a wrong or changed password gets 401", async () => {
      const base = `${apache.url}/remote.php/dav/files/ada-5c7e`
      const put = await fetch(`${base}/hello.txt`, { method: "PUT", headers: basic("ada@example.org", "first"), body: "hi" })
      expect(put.status).toBe(201)
      expect(readFileSync(path.join(apache.filesFolder("ada-5c7e"), "hello.txt"), "utf8")).toBe("hi")
      const listing = await fetch(`${base}/`, { method: "PROPFIND", headers: { ...basic("ada@example.org", "first"), depth: "1" } })
      expect(listing.status).toBe(207)
      expect(await listing.text()).toContain("/remote.php/dav/files/ada-5c7e/hello.txt")
      expect((await fetch(`${base}/`, { method: "PROPFIND", headers: basic("ada@example.org", "nope") })).status).toBe(401)
      apache.setPassword("ada@example.org", "second")
      expect((await fetch(`${base}/`, { method: "PROPFIND", headers: { ...basic("ada@example.org", "first"), depth: "0" } })).status).toBe(401)
      expect((await fetch(`${base}/`, { method: "PROPFIND", headers: { ...basic("ada@example.org", "second"), depth: "0" } })).status).toBe(207)
    })
  })
}
