/**
 * The Radicale harness itself: Radicale behind the path-mapping proxy answers
 * at Nextcloud's DAV paths, so a client that discovers its collections the
 * Nextcloud way finds them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { radicaleAvailable, type RadicaleServer, startRadicale, toNextcloud, toRadicale } from "../support/radicale.js"

describe("path mapping", () => {
  it("maps Nextcloud's DAV paths onto Radicale's and back", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["/remote.php/dav/principals/users/alice/", "/alice/"],
      ["/remote.php/dav/calendars/alice/", "/alice/calendars/"],
      ["/remote.php/dav/calendars/alice/personal/x%20y.ics", "/alice/calendars/personal/x%20y.ics"],
      ["/remote.php/dav/addressbooks/users/alice/contacts/", "/alice/addressbooks/contacts/"]
    ]
    for (const [nextcloud, radicale] of cases) {
      expect(toRadicale(nextcloud)).toBe(radicale)
      expect(toNextcloud(`/remote.php/dav${radicale}`)).toBe(nextcloud)
    }
    expect(toNextcloud("/remote.php/dav/alice/", "calendar-home-set")).toBe("/remote.php/dav/calendars/alice/")
    expect(toNextcloud("/remote.php/dav/alice/", "addressbook-home-set")).toBe("/remote.php/dav/addressbooks/users/alice/")
    expect(toRadicale("/index.php/apps/notes")).toBeNull()
  })
})

if (radicaleAvailable("Radicale harness")) {
  describe("Radicale at Nextcloud's DAV paths", () => {
    let radicale: RadicaleServer
    beforeAll(async () => {
      radicale = await startRadicale([{ userId: "alice", password: "alice-app-password" }])
    })
    afterAll(async () => {
      await radicale?.stop()
    })

    const propfind = (path: string, depth: string, props: string) =>
      fetch(`${radicale.url}${path}`, {
        method: "PROPFIND",
        headers: {
          authorization: `Basic ${Buffer.from("alice:alice-app-password").toString("base64")}`,
          depth,
          "content-type": "application/xml; charset=utf-8"
        },
        body: `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cr="urn:ietf:params:xml:ns:carddav"><d:prop>${props}</d:prop></d:propfind>`
      })

    it("discovers the principal, both homes and the default collections", async () => {
      const root = await propfind("/remote.php/dav/", "0", "<d:current-user-principal/>")
      expect(root.status).toBe(207)
      expect(await root.text()).toContain("/remote.php/dav/principals/users/alice/")
      const principal = await (await propfind("/remote.php/dav/principals/users/alice/", "0", "<c:calendar-home-set/><cr:addressbook-home-set/>")).text()
      expect(principal).toContain("/remote.php/dav/calendars/alice/")
      expect(principal).toContain("/remote.php/dav/addressbooks/users/alice/")
      const calendars = await (await propfind("/remote.php/dav/calendars/alice/", "1", "<d:resourcetype/><d:displayname/>")).text()
      expect(calendars).toContain("/remote.php/dav/calendars/alice/personal/")
      expect(calendars).toContain("/remote.php/dav/calendars/alice/contact_birthdays/")
      const books = await (await propfind("/remote.php/dav/addressbooks/users/alice/", "1", "<d:resourcetype/>")).text()
      expect(books).toContain("/remote.php/dav/addressbooks/users/alice/contacts/")
      expect(books).toContain("/remote.php/dav/addressbooks/users/alice/z-server-generated--system/")
    })

    it("refuses a wrong password and writes into the read-only collections", async () => {
      const wrong = await fetch(`${radicale.url}/remote.php/dav/calendars/alice/`, {
        method: "PROPFIND",
        headers: { authorization: `Basic ${Buffer.from("alice:nope").toString("base64")}`, depth: "0" }
      })
      expect(wrong.status).toBe(401)
      const put = await fetch(`${radicale.url}/remote.php/dav/addressbooks/users/alice/z-server-generated--system/x.vcf`, {
        method: "PUT",
        headers: { authorization: `Basic ${Buffer.from("alice:alice-app-password").toString("base64")}`, "content-type": "text/vcard" },
        body: "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n"
      })
      expect(put.status).toBe(403)
    })
  })
}
