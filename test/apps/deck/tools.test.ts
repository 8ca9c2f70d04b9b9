/**
 * The Deck tools end to end in process: the real MCP server and adapter over
 * InMemoryTransport, the Deck client, and the simulated Deck app.
 */
import { describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed, ok } from "../../support/results.js"

const harness = useHarness({ user: "ada-local" })

interface CardOut {
  readonly id: number
  readonly stack_id: number
  readonly title: string
  readonly description: string
  readonly due: string | null
  readonly labels: ReadonlyArray<{ readonly id: number; readonly title: string }>
  readonly assignees: ReadonlyArray<string>
  readonly archived: boolean
  readonly etag?: string
  readonly url: string
}
interface StackOut {
  readonly id: number
  readonly title: string
  readonly card_count: number
  readonly cards: ReadonlyArray<CardOut>
}

const USER = "ada-5c7e"

describe("deck tools", () => {
  it("lists the tools with their hints", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    for (const name of ["nc_deck_list_boards", "nc_deck_get_board"]) {
      expect(byName.get(name)?.annotations, name).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    }
    expect(byName.get("nc_deck_delete_card")?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true })
    for (const name of ["nc_deck_create_card", "nc_deck_update_card", "nc_deck_move_card", "nc_deck_comment_card"]) {
      expect(byName.get(name)?.annotations?.readOnlyHint, name).toBe(false)
    }
  })

  it("answers ProvisioningRequired before provisioning", async () => {
    const h = await harness.start()
    const r = failed(await h.call("nc_deck_list_boards"), "ProvisioningRequired")
    expect(r.message).toContain("nc_auth_provision_access")
  })

  it("a grant without deck scopes: InsufficientScope naming the scope", async () => {
    const h = await harness.start()
    await h.provision(["deck.read"])
    ok(await h.call("nc_deck_list_boards"))
    const r = failed(await h.call("nc_deck_create_card", { board_id: 1, stack_id: 2, title: "x" }), "InsufficientScope")
    expect(r["missing_scopes"]).toEqual(["deck.write"])
    const h2 = await harness.start()
    await h2.provision(["notes.read"])
    expect(failed(await h2.call("nc_deck_get_board", { board_id: 1 }), "InsufficientScope")["missing_scopes"]).toEqual(["deck.read"])
  })

  it("boards → board with stacks and cards → create → update (labels, assignees, if_match) → move → comment → delete", async () => {
    const h = await harness.start()
    await h.provision(["deck.read", "deck.write"])
    const board = await h.sim.seedBoard({ owner: USER, title: "Launch", stacks: ["To do", "Doing", "Done"], members: [{ userId: "alice", edit: true }] })
    const [todo, doing] = board.stacks
    await h.sim.seedBoard({ owner: USER, title: "Old project", archived: true })
    await h.sim.seedCard({ stackId: todo!.id, title: "Archived idea", archived: true })
    await h.sim.seedCard({ stackId: todo!.id, title: "First", order: 0 })

    const boards = ok(await h.call("nc_deck_list_boards"))
    expect((boards["boards"] as Array<{ title: string; url: string; can_edit: boolean }>).map((b) => b.title)).toEqual(["Launch"])
    expect((boards["boards"] as Array<{ url: string }>)[0]?.url).toMatch(new RegExp(`/index\\.php/apps/deck/board/${board.id}$`))
    expect(ok(await h.call("nc_deck_list_boards", { include_archived: true }))["count"]).toBe(2)

    const created = ok(
      await h.call("nc_deck_create_card", {
        board_id: board.id,
        stack_id: todo!.id,
        title: "Write the announcement",
        description: "Draft in **Markdown**",
        due: "2026-12-24T18:00:00+01:00",
        labels: ["to review", board.labels[0]!.id],
        assignees: ["alice"]
      })
    )
    const card = created["card"] as CardOut
    expect(card).toMatchObject({ title: "Write the announcement", due: "2026-12-24T17:00:00+00:00", assignees: ["alice"] })
    expect(card.labels.map((l) => l.title).sort()).toEqual(["Finished", "To review"])
    expect(card.url).toMatch(new RegExp(`/apps/deck/board/${board.id}/card/${card.id}$`))

    const view = ok(await h.call("nc_deck_get_board", { board_id: board.id }))
    const stacks = view["stacks"] as Array<StackOut>
    expect(stacks.map((s) => s.title)).toEqual(["To do", "Doing", "Done"])
    expect(stacks[0]?.cards.map((c) => c.title)).toEqual(["First", "Write the announcement"])
    const withArchived = ok(await h.call("nc_deck_get_board", { board_id: board.id, include_archived_cards: true }))
    expect((withArchived["stacks"] as Array<StackOut>)[0]?.cards.map((c) => c.title)).toEqual(["First", "Write the announcement", "Archived idea"])
    const paged = ok(await h.call("nc_deck_get_board", { board_id: board.id, limit: 1 }))
    expect(paged["count"]).toBe(1)
    const rest = ok(await h.call("nc_deck_get_board", { board_id: board.id, limit: 1, cursor: paged["next_cursor"] }))
    expect((rest["stacks"] as Array<StackOut>)[0]?.cards.map((c) => c.title)).toEqual(["Write the announcement"])
    expect(rest["next_cursor"]).toBeNull()

    const address = { board_id: board.id, stack_id: todo!.id, card_id: card.id }
    const etag = stacks[0]!.cards[1]!.etag
    const updated = ok(await h.call("nc_deck_update_card", { ...address, if_match: etag, title: "Announce it", due: null, labels: ["Later"], assignees: [] }))
    const after = updated["card"] as CardOut
    expect(after).toMatchObject({ title: "Announce it", due: null, assignees: [], description: "Draft in **Markdown**" })
    expect(after.labels.map((l) => l.title)).toEqual(["Later"])
    const stale = failed(await h.call("nc_deck_update_card", { ...address, if_match: etag, title: "lost" }), "Conflict")
    expect(stale.message).toContain("nc_deck_get_board")
    expect((await h.sim.getDeckCard(card.id)).title).toBe("Announce it")
    const badLabel = failed(await h.call("nc_deck_update_card", { ...address, labels: ["Nope"] }), "InvalidArguments")
    expect(badLabel.message).toContain("Finished")
    failed(await h.call("nc_deck_update_card", { ...address, assignees: ["bob"] }), "InvalidArguments")
    failed(await h.call("nc_deck_update_card", { ...address, due: "tomorrow" }), "InvalidArguments")
    failed(await h.call("nc_deck_update_card", address), "InvalidArguments")

    const moved = ok(await h.call("nc_deck_move_card", { ...address, to_stack_id: doing!.id, position: 0 }))
    expect((moved["card"] as CardOut).stack_id).toBe(doing!.id)
    expect(moved["stack_cards"]).toEqual([{ id: card.id, title: "Announce it", order: 0 }])
    const movedAddress = { ...address, stack_id: doing!.id }
    failed(await h.call("nc_deck_update_card", { ...address, title: "wrong stack" }), "NotFound")

    const commented = ok(await h.call("nc_deck_comment_card", { ...movedAddress, message: "Ready for review @alice" }))
    expect(commented["comment"]).toMatchObject({ message: "Ready for review @alice", author: USER })
    expect((await h.sim.listDeckComments(card.id)).map((c) => c.message)).toEqual(["Ready for review @alice"])

    ok(await h.call("nc_deck_delete_card", movedAddress))
    failed(await h.call("nc_deck_delete_card", movedAddress), "NotFound")
    expect((await h.sim.getDeckCard(card.id)).deletedAt).toBeGreaterThan(0)
  })

  it("moving within a stack renumbers it as Deck does", async () => {
    const h = await harness.start()
    await h.provision(["deck.read", "deck.write"])
    const board = await h.sim.seedBoard({ owner: USER, title: "B", stacks: ["S"] })
    const stack = board.stacks[0]!
    const ids: Array<number> = []
    for (const title of ["a", "b", "c", "d"]) ids.push((await h.sim.seedCard({ stackId: stack.id, title, order: ids.length })).id)
    const moved = ok(await h.call("nc_deck_move_card", { board_id: board.id, stack_id: stack.id, card_id: ids[0], position: 2 }))
    expect(moved["stack_cards"]).toEqual([
      { id: ids[1], title: "b", order: 0 },
      { id: ids[2], title: "c", order: 1 },
      { id: ids[0], title: "a", order: 2 },
      { id: ids[3], title: "d", order: 3 }
    ])
    expect((await h.sim.listDeckCards(stack.id)).map((c) => c.title)).toEqual(["b", "c", "a", "d"])
  })

  it("a read-only member may read but not change cards: PermissionDenied, nothing changed", async () => {
    const h = await harness.start()
    await h.provision(["deck.read", "deck.write"])
    const board = await h.sim.seedBoard({ owner: "alice", title: "Shared", stacks: ["S"], members: [{ userId: USER, edit: false }] })
    const card = await h.sim.seedCard({ stackId: board.stacks[0]!.id, title: "Theirs" })
    const view = ok(await h.call("nc_deck_get_board", { board_id: board.id }))
    expect((view["board"] as { can_edit: boolean }).can_edit).toBe(false)
    failed(await h.call("nc_deck_update_card", { board_id: board.id, stack_id: board.stacks[0]!.id, card_id: card.id, title: "Mine" }), "PermissionDenied")
    failed(await h.call("nc_deck_create_card", { board_id: board.id, stack_id: board.stacks[0]!.id, title: "Mine" }), "PermissionDenied")
    expect((await h.sim.getDeckCard(card.id)).title).toBe("Theirs")
    const hidden = await h.sim.seedBoard({ owner: "alice", title: "Private" })
    expect(failed(await h.call("nc_deck_get_board", { board_id: hidden.id }), "NotFound").message).toContain("nc_deck_list_boards")
  })

  it("a Nextcloud 5xx is a NextcloudError naming the action; a 404 is NotFound", async () => {
    const h = await harness.start()
    await h.provision(["deck.read"])
    const board = await h.sim.seedBoard({ owner: USER, title: "B", stacks: ["S"] })
    await h.sim.injectFault({ target: "deck.boards", fault: Fault.status(500) })
    const r = failed(await h.call("nc_deck_list_boards"), "NextcloudError")
    expect(r.message).toContain("HTTP 500")
    expect(r.message).toContain("while trying to list your Deck boards")
    await h.sim.clearFaults()
    ok(await h.call("nc_deck_list_boards"))
    await h.sim.injectFault({ target: "deck.stacks", fault: Fault.status(404) })
    const missing = failed(await h.call("nc_deck_get_board", { board_id: board.id }), "NotFound")
    expect(missing.message).toContain(`read board ${board.id}`)
  })
})
