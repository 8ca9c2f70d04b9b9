/**
 * The contacts contract, run the same way against the simulated Nextcloud and
 * against Radicale (a real CardDAV server, behind Nextcloud's DAV paths): the
 * tools' handlers with the CardDAV client on the shared transport. Each
 * failure mode the contacts tools are known for elsewhere has its case:
 * fields dropped on create, birthdays, a card not named `<uid>.vcf`, 415 on
 * update, and properties lost on update.
 */
import { describe, expect, it } from "vitest"
import { CardDavLive } from "../../../src/apps/contacts/Client.js"
import { type ContactsControl, contactsSimulator } from "../../../src/apps/contacts/simulator.js"
import {
  createContact,
  deleteContact,
  getContact,
  listAddressBooks,
  searchContacts,
  updateContact
} from "../../../src/apps/contacts/tools.js"
import * as Simulator from "../../../src/simulator/index.js"
import type { AnyTool } from "../../../src/tools/Tool.js"
import { type ContractServer, type Outcome, runDirect, succeeded, suiteServer } from "../../support/directTools.js"
import { radicaleAvailable, type RadicaleServer, startRadicale } from "../../support/radicale.js"


const bookUrl = (server: ContractServer, book: string, name = "") =>
  `${server.host}/remote.php/dav/addressbooks/users/${encodeURIComponent(server.userId)}/${encodeURIComponent(book)}/${name === "" ? "" : encodeURIComponent(name)}`

const basic = (server: ContractServer) => `Basic ${Buffer.from(`${server.loginName}:${server.password}`).toString("base64")}`

/** Write a card as another client would. */
const seed = async (server: ContractServer, book: string, name: string, body: string) => {
  const answer = await fetch(bookUrl(server, book, name), {
    method: "PUT",
    headers: { authorization: basic(server), "content-type": "text/vcard; charset=utf-8" },
    body
  })
  if (answer.status !== 201 && answer.status !== 204) throw new Error(`seeding ${name}: ${answer.status} ${await answer.text()}`)
}

/** The card as the server keeps it (sabre: as stored, in its own version). */
const raw = async (server: ContractServer, book: string, name: string, accept = "text/vcard") => {
  const answer = await fetch(bookUrl(server, book, name), { headers: { authorization: basic(server), accept } })
  return { status: answer.status, body: await answer.text(), etag: answer.headers.get("etag") }
}

const runTool = (server: ContractServer, tool: AnyTool, input: unknown) => runDirect(server, CardDavLive, tool, input)

const ok = (outcome: Outcome) => succeeded(outcome) as Record<string, unknown> & { contact?: Record<string, unknown> }

const crlf = (...lines: Array<string>) => `${lines.join("\r\n")}\r\n`

/** A valid base64 photo, folded as clients fold it. */
const PHOTO = Buffer.from(Array.from({ length: 120 }, (_, i) => (i * 37) % 256)).toString("base64")

const RICH_V3 = (uid: string) => crlf(
  "BEGIN:VCARD",
  "VERSION:3.0",
  "PRODID:-//Apple Inc.//iPhone OS 17.4//EN",
  "N:Doe;John;;;",
  "FN:John Doe",
  "ORG:Acme\\, Inc.;R&D",
  "item1.EMAIL;type=INTERNET;type=pref:john@acme.example",
  "item1.X-ABLabel:_$!<Other>!$_",
  "TEL;type=CELL;type=VOICE;type=pref:+1 (555) 010-0000",
  "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12",
  "NOTE:first note",
  `PHOTO;ENCODING=b;TYPE=JPEG:${PHOTO.slice(0, 48)}`,
  ` ${PHOTO.slice(48, 122)}`,
  ` ${PHOTO.slice(122)}`,
  "X-SOCIALPROFILE;type=twitter;x-user=jdoe:https://twitter.com/jdoe",
  "X-CUSTOM;X-PARAM=\"a:b;c\":value\\, with comma",
  `UID:${uid}`,
  "END:VCARD"
)

const V4 = (uid: string) => crlf(
  "BEGIN:VCARD",
  "VERSION:4.0",
  "PRODID:-//Nextcloud Contacts v6.0.0",
  `UID:${uid}`,
  "FN:Åsa Öberg",
  "N:Öberg;Åsa;;;",
  "TEL;TYPE=\"work,voice\";VALUE=uri:tel:+46-8-123-456",
  "BDAY:--0229",
  "X-NC-FAVORITE:1",
  "END:VCARD"
)

export const contactsContract = (start: () => Promise<ContractServer>) => {
  const server = suiteServer(start)
  const call = (tool: AnyTool, input: unknown) => runTool(server, tool, input)

  it("lists the address books, the system one read-only", async () => {
    const books = ok(await call(listAddressBooks, {}))["addressbooks"] as Array<{ id: string; read_only: boolean }>
    expect(books).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: "contacts", read_only: false }),
        expect.objectContaining({ id: "z-server-generated--system", read_only: true })
      ])
    )
  })

  it("create writes every field (EMAIL, TEL, ORG, NOTE, birthday, address) and reads them back", async () => {
    const created = ok(
      await call(createContact, {
        full_name: "Zoë d'Arçy, Jr.; the 2nd",
        emails: ["zoe@example.org", "z@work.example"],
        phones: ["+33 1 23 45 67 89", "+1 (555) 000-1111"],
        org: "Café, Ltd.",
        note: "Line one\nLine two; with, punctuation \\ backslash",
        birthday: "1990-02-28",
        addresses: [{ street: "1 Rue de la Paix", city: "Paris", postal_code: "75002", country: "France" }]
      })
    )
    expect(created["status"]).toBe("created")
    const contact = created["contact"] as Record<string, unknown>
    expect(contact).toMatchObject({
      addressbook_id: "contacts",
      full_name: "Zoë d'Arçy, Jr.; the 2nd",
      emails: ["zoe@example.org", "z@work.example"],
      phones: ["+33 1 23 45 67 89", "+1 (555) 000-1111"],
      org: "Café, Ltd.",
      note: "Line one\nLine two; with, punctuation \\ backslash",
      birthday: "1990-02-28",
      addresses: [expect.objectContaining({ street: "1 Rue de la Paix", city: "Paris", postal_code: "75002", country: "France" })]
    })
    expect(typeof contact["etag"]).toBe("string")
    const again = ok(await call(getContact, { addressbook_id: "contacts", id: contact["id"] }))
    expect(again.contact).toEqual(contact)
  })

  it("birthdays without a year: created, read from vCard 4.0 (--MMDD) and vCard 3.0 (X-APPLE-OMIT-YEAR)", async () => {
    const created = ok(await call(createContact, { full_name: "Leap Day", birthday: "--02-29" }))
    expect((created["contact"] as { birthday: string }).birthday).toBe("--02-29")
    await seed(server, "contacts", "v4-card.vcf", V4("v4-card"))
    const v4 = ok(await call(getContact, { addressbook_id: "contacts", id: "v4-card.vcf" }))
    expect(v4.contact).toMatchObject({ full_name: "Åsa Öberg", birthday: "--02-29", phones: ["+46-8-123-456"] })
    await seed(server, "contacts", "apple.vcf", RICH_V3("apple"))
    const v3 = ok(await call(getContact, { addressbook_id: "contacts", id: "apple.vcf" }))
    expect(v3.contact).toMatchObject({ birthday: "--04-12", org: "Acme, Inc.", emails: ["john@acme.example"] })
  })

  it("a card whose file name is not <uid>.vcf is found, read, changed and deleted at that name", async () => {
    const name = "Some Name (1) äöü@x.vcf"
    await seed(server, "contacts", name, crlf("BEGIN:VCARD", "VERSION:3.0", "UID:not-the-file-name", "FN:Oddly Named", "EMAIL:odd@example.org", "END:VCARD"))
    const found = ok(await call(searchContacts, { query: "oddly" }))
    const hit = (found["contacts"] as Array<{ id: string; addressbook_id: string }>).find((c) => c.id === name)
    expect(hit).toBeDefined()
    const updated = ok(await call(updateContact, { addressbook_id: "contacts", id: name, note: "renamed? no" }))
    expect(updated["status"]).toBe("updated")
    expect((await raw(server, "contacts", name)).body).toContain("NOTE:renamed? no")
    expect(ok(await call(deleteContact, { addressbook_id: "contacts", id: name }))["status"]).toBe("deleted")
    expect((await raw(server, "contacts", name))["status"]).toBe(404)
    const gone = await call(deleteContact, { addressbook_id: "contacts", id: name })
    expect(gone).toMatchObject({ ok: false, tag: "NotFound" })
  })

  it("an update sends text/vcard and keeps every other line byte for byte", async () => {
    await seed(server, "contacts", "rich.vcf", RICH_V3("rich"))
    const before = await raw(server, "contacts", "rich.vcf")
    const updated = ok(await call(updateContact, { addressbook_id: "contacts", id: "rich.vcf", note: "second note", if_match: before.etag }))
    expect(updated["status"]).toBe("updated")
    const after = await raw(server, "contacts", "rich.vcf")
    expect(after.body).toBe(before.body.replace("NOTE:first note", "NOTE:second note"))
    expect((updated["contact"] as { etag: string }).etag).not.toBe(before.etag)
  })

  it("a vCard 4.0 card stays 4.0 and keeps its other lines", async () => {
    await seed(server, "contacts", "v4-keep.vcf", V4("v4-keep"))
    const before = await raw(server, "contacts", "v4-keep.vcf", "text/vcard; version=4.0")
    ok(await call(updateContact, { addressbook_id: "contacts", id: "v4-keep.vcf", emails: ["asa@example.se"] }))
    const stored = await raw(server, "contacts", "v4-keep.vcf", "text/vcard; version=4.0")
    if (server.sabre) {
      // Stored as sent: the new line after the last one of the fields shown, everything else as it was.
      expect(stored.body).toBe(V4("v4-keep").replace("BDAY:--0229\r\n", "BDAY:--0229\r\nEMAIL:asa@example.se\r\n"))
    } else {
      // Radicale writes cards back in its own order: every line is still there, and the new one.
      const lines = stored.body.split("\r\n")
      for (const line of before.body.split("\r\n")) expect(lines).toContain(line)
      expect(lines).toContain("EMAIL:asa@example.se")
      expect(lines).toContain("VERSION:4.0")
    }
  })

  it("a stale if_match is a Conflict and changes nothing", async () => {
    const created = ok(await call(createContact, { full_name: "Stale Test" })).contact as { id: string; etag: string }
    ok(await call(updateContact, { addressbook_id: "contacts", id: created.id, note: "newer" }))
    const stale = await call(updateContact, { addressbook_id: "contacts", id: created.id, note: "older", if_match: created.etag })
    expect(stale).toMatchObject({ ok: false, tag: "Conflict" })
    const staleDelete = await call(deleteContact, { addressbook_id: "contacts", id: created.id, if_match: created.etag })
    expect(staleDelete).toMatchObject({ ok: false, tag: "Conflict" })
    expect(ok(await call(getContact, { addressbook_id: "contacts", id: created.id })).contact).toMatchObject({ note: "newer" })
  })

  it("the system address book is read-only", async () => {
    const create = await call(createContact, { addressbook_id: "z-server-generated--system", full_name: "Nope" })
    expect(create).toMatchObject({ ok: false, tag: "PermissionDenied" })
    const update = await call(updateContact, { addressbook_id: "z-server-generated--system", id: "x.vcf", note: "n" })
    expect(update).toMatchObject({ ok: false, tag: "PermissionDenied" })
  })

  it("search matches name, email, phone and organisation, case-insensitively, and pages", async () => {
    for (let i = 0; i < 5; i++) {
      ok(await call(createContact, { full_name: `Pager Person ${i}`, emails: [`pager${i}@paging.example`], phones: [`+49 30 900${i}`], org: "Paging GmbH" }))
    }
    const byName = ok(await call(searchContacts, { query: "PAGER person" }))
    expect(byName["total_matches"]).toBe(5)
    expect(ok(await call(searchContacts, { query: "pager3@paging" }))["total_matches"]).toBe(1)
    expect(ok(await call(searchContacts, { query: "30 9004" }))["total_matches"]).toBe(1)
    expect(ok(await call(searchContacts, { query: "paging gmbh", addressbook_id: "contacts" }))["total_matches"]).toBe(5)
    const first = ok(await call(searchContacts, { query: "pager person", limit: 2 }))
    expect((first["contacts"] as Array<unknown>).length).toBe(2)
    expect(typeof first["next_cursor"]).toBe("string")
    const names: Array<string> = (first["contacts"] as Array<{ full_name: string }>).map((c) => c.full_name)
    let cursor = first["next_cursor"] as string | null
    while (cursor !== null) {
      const page = ok(await call(searchContacts, { query: "pager person", limit: 2, cursor }))
      names.push(...(page["contacts"] as Array<{ full_name: string }>).map((c) => c.full_name))
      cursor = page["next_cursor"] as string | null
    }
    expect(names.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `Pager Person ${i}`))
    const wrong = await call(searchContacts, { query: "other", cursor: first["next_cursor"] })
    expect(wrong).toMatchObject({ ok: false, tag: "InvalidArguments" })
  })

  it("an unknown address book or contact is NotFound", async () => {
    expect(await call(getContact, { addressbook_id: "contacts", id: "missing.vcf" })).toMatchObject({ ok: false, tag: "NotFound" })
    expect(await call(searchContacts, { query: "x", addressbook_id: "nope" })).toMatchObject({ ok: false, tag: "NotFound" })
    expect(await call(createContact, { addressbook_id: "nope", full_name: "x" })).toMatchObject({ ok: false, tag: "NotFound" })
  })

  return { server: () => server }
}

// --- the simulated Nextcloud --------------------------------------------------------

describe("contacts contract: simulated Nextcloud", () => {
  let sim: Simulator.PromiseSimulator<ContactsControl>
  const suite = contactsContract(async () => {
    sim = (await Simulator.startSimulator({ apps: [contactsSimulator] })) as typeof sim
    const pw = await sim.createAppPassword({ userId: "ada-5c7e" })
    return { host: sim.url, userId: "ada-5c7e", loginName: "ada@example.org", password: pw.password, sabre: true, close: () => sim.close() }
  })

  it("answers 415 to a PUT that is not text/vcard, and to a vCard it cannot accept", async () => {
    const server = suite.server()
    const put = (contentType: string, body: string) =>
      fetch(bookUrl(server, "contacts", "wrong.vcf"), { method: "PUT", headers: { authorization: basic(server), "content-type": contentType }, body })
    expect((await put("application/json", crlf("BEGIN:VCARD", "VERSION:3.0", "FN:x", "UID:u", "END:VCARD")))["status"]).toBe(415)
    expect((await put("text/vcard", crlf("BEGIN:VCARD", "VERSION:2.1", "FN:x", "UID:u", "END:VCARD")))["status"]).toBe(415)
    expect((await put("text/vcard", "not a card"))["status"]).toBe(415)
  })

  it("reads a card stored as vCard 4.0 as 3.0 unless 4.0 is asked for, as sabre/dav does", async () => {
    const server = suite.server()
    await seed(server, "contacts", "conv.vcf", V4("conv"))
    const asV3 = await raw(server, "contacts", "conv.vcf")
    expect(asV3.body).toContain("VERSION:3.0")
    expect(asV3.body).toContain("PRODID:-//Sabre//Sabre VObject")
    expect(asV3.body).toContain("X-APPLE-OMIT-YEAR=1604")
    expect((await raw(server, "contacts", "conv.vcf", "text/vcard; version=4.0")).body).toBe(V4("conv"))
  })

  it("searches here when the server refuses addressbook-query, with the same answers", async () => {
    const server = suite.server()
    await sim.refuseQueries({ userId: server.userId, refuse: true })
    try {
      const outcome = ok(await runTool(server, searchContacts, { query: "pager person", limit: 2 }))
      expect(outcome["total_matches"]).toBe(5)
      expect(outcome["partial"]).toBeUndefined()
      expect(ok(await runTool(server, searchContacts, { query: "pager3@" }))["total_matches"]).toBe(1)
    } finally {
      await sim.refuseQueries({ userId: server.userId, refuse: false })
    }
  })

  it("repairs a card without UID and then sends no ETag, as sabre/dav does; the tools read it all the same", async () => {
    const server = suite.server()
    const answer = await fetch(bookUrl(server, "contacts", "no-uid.vcf"), {
      method: "PUT",
      headers: { authorization: basic(server), "content-type": "text/vcard; charset=utf-8" },
      body: crlf("BEGIN:VCARD", "VERSION:3.0", "FN:No Uid", "END:VCARD")
    })
    expect(answer.status).toBe(201)
    expect(answer.headers.get("etag")).toBeNull()
    const read = ok(await runTool(server, getContact, { addressbook_id: "contacts", id: "no-uid.vcf" }))["contact"] as { uid: string; etag: string }
    expect(read.uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(read.etag).toMatch(/^"[0-9a-f]+"$/)
  })

  it("the system address book lists the accounts", async () => {
    const server = suite.server()
    const found = ok(await runTool(server, searchContacts, { query: "", addressbook_id: "z-server-generated--system" }))
    expect((found["contacts"] as Array<{ full_name: string }>).map((c) => c.full_name)).toEqual(expect.arrayContaining(["Ada Lovelace", "Alice Example"]))
  })
})

// --- Radicale -----------------------------------------------------------------------

if (radicaleAvailable("contacts contract: Radicale")) {
  describe("contacts contract: Radicale", () => {
    let radicale: RadicaleServer
    contactsContract(async () => {
      radicale = await startRadicale([{ userId: "ada", password: "ada-secret" }])
      return { host: radicale.url, userId: "ada", loginName: "ada", password: "ada-secret", sabre: false, close: () => radicale.stop() }
    })
  })
}
