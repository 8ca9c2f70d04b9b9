import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Tables, TablesLive } from "../../../src/apps/tables/Client.js"
import { tablesSimulator } from "../../../src/apps/tables/simulator.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../../src/nextcloud/Ocs.js"
import * as Simulator from "../../../src/simulator/index.js"

/** The Tables client alone on the shared transport, against a simulator with only Tables mounted. */
const setup = Effect.gen(function* () {
  const sim = yield* Simulator.make({ apps: [tablesSimulator] })
  const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
  const account: Credentials = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password) }
  const context = yield* Layer.build(withTransport(TablesLive).pipe(Layer.provide(NextcloudConfig.make(sim.url))))
  const tables = yield* Effect.provide(Tables, context)
  return { sim, account, tables }
})

describe("Tables client against the simulator", () => {
  it.scopedLive("tables and columns over OCS v2, rows: create (v2), list with limit/offset, get, update, delete (v1)", () =>
    Effect.gen(function* () {
      const { sim, account, tables } = yield* setup
      const seeded = yield* sim.seedTable({
        owner: "ada-5c7e",
        title: "Inventory",
        columns: [
          { title: "Item", type: "text", subtype: "line", mandatory: true },
          { title: "Count", type: "number", numberMin: 0 },
          { title: "State", type: "selection", selectionOptions: ["new", "used"] }
        ]
      })
      yield* sim.seedTable({ owner: "alice", title: "Not shared" })
      const [item, count, state] = seeded.columns
      const list = yield* tables.listTables(account)
      expect(list.map((t) => t.title)).toEqual(["Inventory"])
      expect((yield* tables.getTable(account, seeded.id)).title).toBe("Inventory")
      const columns = yield* tables.listColumns(account, seeded.id)
      expect(columns.map((c) => [c.title, c.type, c.subtype ?? ""])).toEqual([["Item", "text", "line"], ["Count", "number", ""], ["State", "selection", ""]])
      expect(columns[2]?.selectionOptions).toEqual([{ id: 1, label: "new" }, { id: 2, label: "used" }])

      const created = yield* tables.createRow(account, seeded.id, { [item!.id]: "Chair", [count!.id]: 4, [state!.id]: 2 })
      expect(created.data).toEqual([{ columnId: item!.id, value: "Chair" }, { columnId: count!.id, value: 4 }, { columnId: state!.id, value: "2" }])
      for (const name of ["Table", "Lamp"]) yield* tables.createRow(account, seeded.id, { [item!.id]: name })
      const page = yield* tables.listRows(account, seeded.id, 2, 1)
      expect(page.map((r) => r.data[0]?.value)).toEqual(["Table", "Lamp"])

      const updated = yield* tables.updateRow(account, created.id, { [count!.id]: 5 })
      expect(updated.data.find((c) => c.columnId === count!.id)?.value).toBe(5)
      expect((yield* tables.getRow(account, created.id)).data.find((c) => c.columnId === item!.id)?.value).toBe("Chair")
      // Tables refuses a missing mandatory value (400), and silently empties what it cannot parse.
      expect((yield* Effect.flip(tables.createRow(account, seeded.id, { [count!.id]: 1 })))._tag).toBe("NextcloudProtocolError")
      const lenient = yield* tables.createRow(account, seeded.id, { [item!.id]: "Odd", [state!.id]: 99 })
      expect(lenient.data.find((c) => c.columnId === state!.id)?.value).toBeNull()

      yield* tables.deleteRow(account, created.id)
      expect((yield* Effect.flip(tables.getRow(account, created.id)))._tag).toBe("NextcloudNotFound")
    }))

  it.scopedLive("a table that does not exist is 404, one not shared with you 403", () =>
    Effect.gen(function* () {
      const { sim, account, tables } = yield* setup
      const theirs = yield* sim.seedTable({ owner: "alice", title: "Private" })
      expect((yield* Effect.flip(tables.getTable(account, theirs.id)))._tag).toBe("NextcloudForbidden")
      expect((yield* Effect.flip(tables.getTable(account, 999_999)))._tag).toBe("NextcloudNotFound")
      expect((yield* Effect.flip(tables.listColumns(account, theirs.id)))._tag).toBe("NextcloudForbidden")
      expect((yield* Effect.flip(tables.listRows(account, theirs.id, 10, 0)))._tag).toBe("NextcloudForbidden")
    }))
})
