/**
 * The Tables tools end to end in process: the real MCP server and adapter over
 * InMemoryTransport, the Tables client, and the simulated Tables app.
 */
import { describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed, ok } from "../../support/results.js"

const harness = useHarness({ user: "ada-local" })

interface RowOut {
  readonly id: number
  readonly values: Record<string, unknown>
  readonly etag: string
  readonly url: string
}

const USER = "ada-5c7e"

const seedInventory = (h: Awaited<ReturnType<typeof harness.start>>, owner = USER, shares?: ReadonlyArray<{ userId: string; create?: boolean; update?: boolean; delete?: boolean }>) =>
  h.sim.seedTable({
    owner,
    title: "Inventory",
    ...(shares !== undefined ? { shares } : {}),
    columns: [
      { title: "Item", type: "text", subtype: "line", mandatory: true, textMaxLength: 20 },
      { title: "Count", type: "number", numberMin: 0, numberMax: 100, numberDecimals: 0 },
      { title: "State", type: "selection", selectionOptions: ["new", "used"] },
      { title: "Tags", type: "selection", subtype: "multi", selectionOptions: ["red", "green", "blue"] },
      { title: "Checked", type: "selection", subtype: "check" },
      { title: "Bought", type: "datetime", subtype: "date" },
      { title: "Owner", type: "usergroup" }
    ]
  })

describe("tables tools", () => {
  it("lists the tools with their hints", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    for (const name of ["nc_tables_list", "nc_tables_get_schema", "nc_tables_read_rows"]) {
      expect(byName.get(name)?.annotations, name).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    }
    expect(byName.get("nc_tables_delete_row")?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true })
    expect(byName.get("nc_tables_insert_row")?.annotations?.readOnlyHint).toBe(false)
  })

  it("answers ProvisioningRequired before provisioning, InsufficientScope without the scope", async () => {
    const h = await harness.start()
    failed(await h.call("nc_tables_list"), "ProvisioningRequired")
    await h.provision(["tables.read"])
    ok(await h.call("nc_tables_list"))
    const r = failed(await h.call("nc_tables_insert_row", { table_id: 1, values: {} }), "InsufficientScope")
    expect(r["missing_scopes"]).toEqual(["tables.write"])
  })

  it("list → schema → insert by title → read rows (paged) → update (if_match) → delete", async () => {
    const h = await harness.start()
    await h.provision(["tables.read", "tables.write"])
    const table = await seedInventory(h)
    await h.sim.seedTable({ owner: USER, title: "Old", archived: true })

    const listed = ok(await h.call("nc_tables_list"))
    expect((listed["tables"] as Array<{ title: string; url: string }>).map((t) => t.title)).toEqual(["Inventory"])
    expect((listed["tables"] as Array<{ url: string }>)[0]?.url).toMatch(new RegExp(`/index\\.php/apps/tables/#/table/${table.id}$`))

    const schema = ok(await h.call("nc_tables_get_schema", { table_id: table.id }))
    const columns = schema["columns"] as Array<{ title: string; type: string; options?: unknown }>
    expect(columns.map((c) => c.type)).toEqual(["text-line", "number", "selection", "selection-multi", "selection-check", "datetime-date", "usergroup"])
    expect(columns[2]?.options).toEqual([{ id: 1, label: "new" }, { id: 2, label: "used" }])

    const inserted = ok(
      await h.call("nc_tables_insert_row", {
        table_id: table.id,
        values: { Item: "Chair", count: 4, State: "used", Tags: ["blue", 1], Checked: true, Bought: "2026-03-01", Owner: ["alice"] }
      })
    )
    const row = inserted["row"] as RowOut
    expect(row.values).toEqual({ Item: "Chair", Count: 4, State: "used", Tags: ["red", "blue"], Checked: true, Bought: "2026-03-01", Owner: [{ id: "alice", type: "user" }] })
    expect(row.url).toMatch(new RegExp(`#/table/${table.id}/row/${row.id}$`))
    const stored = (await h.sim.listTableRows(table.id))[0]
    expect(stored?.data[String(table.columns[2]!.id)]).toBe("2")
    expect(stored?.data[String(table.columns[3]!.id)]).toEqual([1, 3])

    for (const item of ["Table", "Lamp"]) ok(await h.call("nc_tables_insert_row", { table_id: table.id, values: { [String(table.columns[0]!.id)]: item } }))
    const first = ok(await h.call("nc_tables_read_rows", { table_id: table.id, limit: 2 }))
    expect((first["rows"] as Array<RowOut>).map((r) => r.values["Item"])).toEqual(["Chair", "Table"])
    const second = ok(await h.call("nc_tables_read_rows", { table_id: table.id, limit: 2, cursor: first["next_cursor"] }))
    expect((second["rows"] as Array<RowOut>).map((r) => r.values["Item"])).toEqual(["Lamp"])
    expect(second["next_cursor"]).toBeNull()
    expect((second["rows"] as Array<RowOut>)[0]?.values["Count"]).toBeNull()

    const updated = ok(await h.call("nc_tables_update_row", { table_id: table.id, row_id: row.id, if_match: row.etag, values: { Count: 5, State: null } }))
    const after = updated["row"] as RowOut
    expect(after.values).toMatchObject({ Item: "Chair", Count: 5, State: null })
    expect(after.etag).not.toBe(row.etag)
    const stale = failed(await h.call("nc_tables_update_row", { table_id: table.id, row_id: row.id, if_match: row.etag, values: { Count: 6 } }), "Conflict")
    expect(stale.message).toContain("nc_tables_read_rows")
    failed(await h.call("nc_tables_delete_row", { table_id: table.id, row_id: row.id, if_match: row.etag }), "Conflict")

    ok(await h.call("nc_tables_delete_row", { table_id: table.id, row_id: row.id, if_match: after.etag }))
    failed(await h.call("nc_tables_delete_row", { table_id: table.id, row_id: row.id }), "NotFound")
    expect((await h.sim.listTableRows(table.id)).map((r) => r.id)).not.toContain(row.id)
  })

  it("values that do not fit their columns are refused before anything is sent, every problem named", async () => {
    const h = await harness.start()
    await h.provision(["tables.read", "tables.write"])
    const table = await seedInventory(h)
    await h.sim.resetCounters()
    const r = failed(
      await h.call("nc_tables_insert_row", {
        table_id: table.id,
        values: { Count: 101, State: "broken", Tags: ["red", "purple"], Checked: "yes", Bought: "2026-02-30", Nope: 1 }
      }),
      "InvalidArguments"
    )
    for (const part of ['There is no column "Nope"', "up to 100", '"new"', "purple", "true or false", "YYYY-MM-DD", 'Column "Item" is mandatory', "Nothing was sent"]) {
      expect(r.message).toContain(part)
    }
    const long = failed(await h.call("nc_tables_insert_row", { table_id: table.id, values: { Item: "x".repeat(21) } }), "InvalidArguments")
    expect(long.message).toContain("at most 20 characters")
    failed(await h.call("nc_tables_insert_row", { table_id: table.id, values: { Item: "ok", Count: 1.5 } }), "InvalidArguments")
    failed(await h.call("nc_tables_insert_row", { table_id: table.id, values: { Item: "ok", Owner: ["alice", "bob"] } }), "InvalidArguments")
    // The simulated Tables, like the real one, would have stored these with empty cells.
    expect(await h.sim.listTableRows(table.id)).toEqual([])
  })

  it("a table shared read-only: reads work, writes are PermissionDenied; another's table is NotFound", async () => {
    const h = await harness.start()
    await h.provision(["tables.read", "tables.write"])
    const table = await seedInventory(h, "alice", [{ userId: USER }])
    const seeded = await h.sim.seedRow({ tableId: table.id, data: { [table.columns[0]!.id]: "Theirs" } })
    const rows = ok(await h.call("nc_tables_read_rows", { table_id: table.id }))
    expect((rows["rows"] as Array<RowOut>)[0]?.values["Item"]).toBe("Theirs")
    failed(await h.call("nc_tables_insert_row", { table_id: table.id, values: { Item: "Mine" } }), "PermissionDenied")
    failed(await h.call("nc_tables_update_row", { table_id: table.id, row_id: seeded.id, values: { Item: "Mine" } }), "PermissionDenied")
    failed(await h.call("nc_tables_delete_row", { table_id: table.id, row_id: seeded.id }), "PermissionDenied")
    const hidden = await h.sim.seedTable({ owner: "alice", title: "Private" })
    expect(failed(await h.call("nc_tables_get_schema", { table_id: hidden.id }), "NotFound").message).toContain("nc_tables_list")
  })

  it("a Nextcloud 5xx is a NextcloudError naming the action; a 404 is NotFound", async () => {
    const h = await harness.start()
    await h.provision(["tables.read"])
    const table = await seedInventory(h)
    await h.sim.injectFault({ target: { pathPrefix: "/ocs/v2.php/apps/tables/api/2/tables" }, fault: Fault.status(502) })
    const r = failed(await h.call("nc_tables_list"), "NextcloudError")
    expect(r.message).toContain("HTTP 502")
    expect(r.message).toContain("while trying to list your tables")
    await h.sim.clearFaults()
    await h.sim.injectFault({ target: "tables.rows.list", fault: Fault.status(404) })
    const missing = failed(await h.call("nc_tables_read_rows", { table_id: table.id }), "NotFound")
    expect(missing.message).toContain(`read the rows of table ${table.id}`)
  })
})
