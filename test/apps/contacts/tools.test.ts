/**
 * The contacts tools end to end in process: the real MCP server and adapter
 * over InMemoryTransport, the CardDAV client, and CardDAV in the simulated
 * Nextcloud. The contract cases themselves are in contract.test.ts; here:
 * listing and hints, scopes, argument checks, the answers the adapter gives
 * to refusals, and create → read round trips through the whole stack.
 */
import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { contacts } from "../../../src/apps/contacts/index.js"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed, ok } from "../../support/results.js"

const harness = useHarness({ apps: [contacts] as const })

interface ContactOut {
  readonly id: string
  readonly addressbook_id: string
  readonly full_name: string | null
  readonly emails: ReadonlyArray<string>
  readonly phones: ReadonlyArray<string>
  readonly birthday: string | null
  readonly etag: string | null
  readonly url: string | null
}

const TOOLS = [
  "nc_contacts_list_addressbooks",
  "nc_contacts_search",
  "nc_contacts_get",
  "nc_contacts_create",
  "nc_contacts_update",
  "nc_contacts_delete"
]

describe("contacts tools", () => {
  it("are listed with object schemas and hints", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    for (const name of TOOLS) {
      expect(byName.get(name)?.outputSchema?.type, name).toBe("object")
      expect(byName.get(name)?.annotations?.openWorldHint, name).toBe(true)
    }
    expect(byName.get("nc_contacts_search")?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    expect(byName.get("nc_contacts_delete")?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true })
    expect(byName.get("nc_contacts_update")?.annotations).toMatchObject({ destructiveHint: true })
  })

  it("need a grant, and contacts.write for writes", async () => {
    const h = await harness.start()
    failed(await h.call("nc_contacts_list_addressbooks"), "ProvisioningRequired")
    await h.provision(["contacts.read"])
    ok(await h.call("nc_contacts_list_addressbooks"))
    const refused = failed(await h.call("nc_contacts_create", { full_name: "x" }), "InsufficientScope")
    expect(refused["missing_scopes"]).toEqual(["contacts.write"])
  })

  it("create → search → get → update → delete through the server, with the Contacts app's url", async () => {
    const h = await harness.start()
    await h.provision(["contacts.read", "contacts.write"])
    const created = ok(await h.call("nc_contacts_create", { full_name: "Grace Hopper", emails: ["grace@navy.example"], birthday: "1906-12-09" }))
    expect(created.status).toBe("created")
    const contact = created["contact"] as ContactOut
    expect(contact).toMatchObject({ addressbook_id: "contacts", full_name: "Grace Hopper", birthday: "1906-12-09" })
    expect(contact.url).toMatch(/\/index\.php\/apps\/contacts\/direct\/contact\/.+~contacts$/)
    const stored = await h.sim.readCard({ userId: "ada-5c7e", addressbookId: "contacts", name: contact.id })
    expect(stored.body).toContain("EMAIL:grace@navy.example\r\n")

    const found = ok(await h.call("nc_contacts_search", { query: "hopper" }))
    expect((found["contacts"] as Array<ContactOut>).map((c) => c.id)).toEqual([contact.id])

    const updated = ok(await h.call("nc_contacts_update", { addressbook_id: "contacts", id: contact.id, phones: ["+1 202 555 0100"], if_match: contact.etag }))
    expect(updated["contact"]).toMatchObject({ phones: ["+1 202 555 0100"], emails: ["grace@navy.example"] })
    const same = ok(await h.call("nc_contacts_update", { addressbook_id: "contacts", id: contact.id, phones: ["+1 202 555 0100"] }))
    expect(same.status).toBe("unchanged")

    const stale = failed(await h.call("nc_contacts_update", { addressbook_id: "contacts", id: contact.id, note: "x", if_match: contact.etag }), "Conflict")
    expect(stale.message).toContain("nc_contacts_get")
    expect(ok(await h.call("nc_contacts_delete", { addressbook_id: "contacts", id: contact.id })).status).toBe("deleted")
    failed(await h.call("nc_contacts_get", { addressbook_id: "contacts", id: contact.id }), "NotFound")
  })

  it("refuses bad arguments and changes nothing", async () => {
    const h = await harness.start()
    await h.provision(["contacts.read", "contacts.write"])
    failed(await h.call("nc_contacts_create", { full_name: "x", birthday: "2001-02-29" }), "InvalidArguments")
    failed(await h.call("nc_contacts_create", { full_name: "bell\u0007" }), "InvalidArguments")
    failed(await h.call("nc_contacts_create", { full_name: "   " }), "InvalidArguments")
    failed(await h.call("nc_contacts_get", { addressbook_id: "contacts", id: "../x" }), "InvalidArguments")
    failed(await h.call("nc_contacts_search", { query: "x", cursor: "garbage" }), "InvalidArguments")
    failed(await h.call("nc_contacts_search", { query: "x", limit: 501 }), "InvalidArguments")
    expect(await h.sim.listCards({ userId: "ada-5c7e", addressbookId: "contacts" })).toEqual([])
  })

  it("the system address book: PermissionDenied, naming it", async () => {
    const h = await harness.start()
    await h.provision(["contacts.read", "contacts.write"])
    const r = failed(await h.call("nc_contacts_delete", { addressbook_id: "z-server-generated--system", id: "alice.vcf" }), "PermissionDenied")
    expect(r.message).toContain("read-only")
  })

  it("a failing Nextcloud is NextcloudError naming the action", async () => {
    const h = await harness.start()
    await h.provision(["contacts.read", "contacts.write"])
    await h.sim.injectFault({ target: "carddav.put", fault: Fault.status(500), times: 1 })
    const r = failed(await h.call("nc_contacts_create", { full_name: "Later" }), "NextcloudError")
    expect(r.message).toContain("while trying to create the contact in contacts")
  })

  it("create → get round-trips arbitrary names, emails, phones and birthdays through the server", async () => {
    const h = await harness.start()
    await h.provision(["contacts.read", "contacts.write"])
    const name = fc
      .array(fc.oneof(fc.constantFrom(",", ";", "\\", "\n", ":", "é", "名", "😀", " "), fc.string({ unit: "grapheme", minLength: 1, maxLength: 3 })), {
        minLength: 1,
        maxLength: 20
      })
      .map((parts) => parts.join(""))
      .filter((s) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s) && s.trim() !== "" && s.length <= 500)
    const birthday = fc.oneof(
      fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2030-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
      fc.constantFrom("--02-29", "--01-01", "--12-31", "--07-04")
    )
    await fc.assert(
      fc.asyncProperty(
        name,
        fc.array(fc.emailAddress(), { maxLength: 2 }),
        fc.array(fc.stringMatching(/^\+?[0-9][0-9 ()-]{2,14}[0-9]$/), { maxLength: 2 }),
        birthday,
        async (fullName, emails, phones, bday) => {
          const created = ok(await h.call("nc_contacts_create", { full_name: fullName, emails, phones, birthday: bday }))
          const id = (created["contact"] as ContactOut).id
          const read = ok(await h.call("nc_contacts_get", { addressbook_id: "contacts", id }))["contact"] as ContactOut
          expect(read).toMatchObject({ full_name: fullName, emails, phones, birthday: bday })
        }
      ),
      { numRuns: 15 }
    )
  })
})
