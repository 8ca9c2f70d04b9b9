import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Deck, DeckLive } from "../../../src/apps/deck/Client.js"
import { deckSimulator } from "../../../src/apps/deck/simulator.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../../src/nextcloud/Ocs.js"
import * as Simulator from "../../../src/simulator/index.js"

/** The Deck client alone on the shared transport, against a simulator with only Deck mounted. */
const setup = Effect.gen(function* () {
  const sim = yield* Simulator.make({ apps: [deckSimulator] })
  const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
  const account: Credentials = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password) }
  const context = yield* Layer.build(withTransport(DeckLive).pipe(Layer.provide(NextcloudConfig.make(sim.url))))
  const deck = yield* Effect.provide(Deck, context)
  return { sim, account, deck }
})

describe("Deck client against the simulator", () => {
  it.scopedLive("boards, stacks with cards, archived cards on request, create, update, labels, assignees, delete", () =>
    Effect.gen(function* () {
      const { sim, account, deck } = yield* setup
      const board = yield* sim.seedBoard({ owner: "ada-5c7e", title: "Launch", stacks: ["To do", "Done"], members: [{ userId: "alice", edit: true }] })
      const [todo, done] = board.stacks
      yield* sim.seedCard({ stackId: todo!.id, title: "Old", archived: true })
      yield* sim.seedBoard({ owner: "alice", title: "Not shared" })

      const boards = yield* deck.listBoards(account)
      expect(boards.map((b) => b.title)).toEqual(["Launch"])
      expect(boards[0]?.labels?.map((l) => l.title)).toEqual(["Finished", "To review", "Action needed", "Later"])
      const got = yield* deck.getBoard(account, board.id)
      expect(got.users?.map((u) => u.uid)).toEqual(["ada-5c7e", "alice"])

      const created = yield* deck.createCard(account, board.id, todo!.id, { title: "Write notes", description: "**bold**", duedate: "2026-12-24T18:00:00+01:00" })
      expect(created).toMatchObject({ title: "Write notes", stackId: todo!.id, order: 999, duedate: "2026-12-24T17:00:00+00:00" })
      const stacks = yield* deck.listStacks(account, board.id)
      expect(stacks.map((s) => [s.title, (s.cards ?? []).map((c) => c.title)])).toEqual([["To do", ["Write notes"]], ["Done", []]])
      const archived = yield* deck.listArchivedStacks(account, board.id)
      expect(archived[0]?.cards?.map((c) => c.title)).toEqual(["Old"])

      const ref = { boardId: board.id, stackId: todo!.id, cardId: created.id }
      const read = yield* deck.getCard(account, ref)
      expect(read.etag).toBe(read.card.ETag)
      const label = board.labels[1]!
      yield* deck.assignLabel(account, ref, label.id)
      yield* deck.assignUser(account, ref, "alice")
      const withSets = yield* deck.getCard(account, ref)
      expect(withSets.card.labels?.map((l) => l.title)).toEqual(["To review"])
      expect(withSets.card.assignedUsers?.map((a) => a.participant.uid)).toEqual(["alice"])
      expect(withSets.etag).not.toBe(read.etag)
      const bad = yield* Effect.flip(deck.assignUser(account, ref, "ghost"))
      expect(bad._tag).toBe("NextcloudProtocolError")

      const updated = yield* deck.updateCard(account, ref, {
        title: "Write the notes",
        type: "plain",
        owner: "ada-5c7e",
        description: "",
        order: 999,
        duedate: null,
        startdate: null,
        done: null,
        archived: false
      })
      expect(updated).toMatchObject({ title: "Write the notes", duedate: null })
      yield* deck.removeLabel(account, ref, label.id)
      yield* deck.unassignUser(account, ref, "alice")
      expect((yield* sim.getDeckCard(created.id))).toMatchObject({ labels: [], assigned: [] })

      const comment = yield* deck.addComment(account, created.id, "Looks good @alice")
      expect(comment).toMatchObject({ message: "Looks good @alice", actorId: "ada-5c7e" })
      expect((yield* sim.listDeckComments(created.id)).map((c) => c.message)).toEqual(["Looks good @alice"])

      yield* deck.deleteCard(account, ref)
      expect((yield* Effect.flip(deck.getCard(account, ref)))._tag).toBe("NextcloudForbidden")
      expect((yield* deck.listStacks(account, board.id))[0]?.cards).toEqual([])
      expect(done).toBeDefined()
    }))

  it.scopedLive("reorder renumbers the target stack the way Deck does, across stacks too", () =>
    Effect.gen(function* () {
      const { sim, account, deck } = yield* setup
      const board = yield* sim.seedBoard({ owner: "ada-5c7e", title: "B", stacks: ["A", "B"] })
      const [a, b] = board.stacks
      const ids: Array<number> = []
      for (let i = 0; i < 4; i++) ids.push((yield* sim.seedCard({ stackId: a!.id, title: `c${i}`, order: i })).id)
      const other = yield* sim.seedCard({ stackId: b!.id, title: "x", order: 0 })
      // c3 to the top of A: Deck numbers it 0 and the others 1, 2, 3, and answers them in the order it visited them.
      const answer = yield* deck.reorderCard(account, { boardId: board.id, stackId: a!.id, cardId: ids[3]! }, a!.id, 0)
      expect(answer.map((c) => [c.title, c.order])).toEqual([["c0", 1], ["c1", 2], ["c2", 3], ["c3", 0]])
      // x from B to position 2 of A.
      yield* deck.reorderCard(account, { boardId: board.id, stackId: b!.id, cardId: other.id }, a!.id, 2)
      expect((yield* sim.listDeckCards(a!.id)).map((c) => [c.title, c.order])).toEqual([["c3", 0], ["c0", 1], ["x", 2], ["c1", 3], ["c2", 4]])
      expect(yield* sim.listDeckCards(b!.id)).toEqual([])
    }))

  it.scopedLive("another user's board is 403 (Deck does not say whether it exists); a missing route is 404", () =>
    Effect.gen(function* () {
      const { sim, account, deck } = yield* setup
      const theirs = yield* sim.seedBoard({ owner: "alice", title: "Private", stacks: ["S"] })
      expect((yield* Effect.flip(deck.getBoard(account, theirs.id)))._tag).toBe("NextcloudForbidden")
      expect((yield* Effect.flip(deck.getBoard(account, 999_999)))._tag).toBe("NextcloudForbidden")
      expect((yield* Effect.flip(deck.createCard(account, theirs.id, theirs.stacks[0]!.id, { title: "x" })))._tag).toBe("NextcloudForbidden")
      yield* sim.injectFault({ target: "deck.boards", fault: Simulator.Fault.status(404), times: 1 })
      expect((yield* Effect.flip(deck.listBoards(account)))._tag).toBe("NextcloudNotFound")
    }))
})
