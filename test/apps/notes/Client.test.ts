import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Notes, NotesLive } from "../../../src/apps/notes/Client.js"
import { notesSimulator } from "../../../src/apps/notes/simulator.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../../src/nextcloud/Ocs.js"
import * as Simulator from "../../../src/simulator/index.js"

/** The Notes client alone on the shared transport, against a simulator with only Notes mounted. */
const setup = Effect.gen(function* () {
  const sim = yield* Simulator.make({ apps: [notesSimulator] })
  const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
  const account: Credentials = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password) }
  const context = yield* Layer.build(withTransport(NotesLive).pipe(Layer.provide(NextcloudConfig.make(sim.url))))
  return { sim, account, provide: <A, E>(effect: Effect.Effect<A, E, Notes>) => Effect.provide(effect, context) }
})

describe("Notes client against the simulator", () => {
  it.scopedLive("create, list with exclude and paging, get, update with If-Match, delete", () =>
    Effect.gen(function* () {
      const { sim, account, provide } = yield* setup
      const notes = yield* provide(Effect.flatMap(Notes, Effect.succeed))
      const a = yield* notes.create(account, { title: "A", content: "alpha", category: "work" })
      yield* notes.create(account, { content: "# Beta\nb" })
      yield* sim.seedNote({ userId: "ada-5c7e", title: "Old", content: "o", modified: 1 })
      const first = yield* notes.list(account, { exclude: ["content"], chunkSize: 2 })
      expect(first.notes).toHaveLength(2)
      expect(first.notes[0]).not.toHaveProperty("content")
      expect(first.cursor).not.toBeNull()
      const rest = yield* notes.list(account, { chunkSize: 2, chunkCursor: first.cursor ?? "" })
      expect(rest.notes.map((n) => n.title)).toEqual(["Old"])
      expect(rest.cursor).toBeNull()
      expect((yield* notes.list(account, { category: "work" })).notes.map((n) => n.id)).toEqual([a.id])

      const got = yield* notes.get(account, a.id)
      expect(got).toMatchObject({ title: "A", content: "alpha", category: "work" })
      const updated = yield* notes.update(account, a.id, { content: "alpha 2" }, got.etag)
      expect(updated.content).toBe("alpha 2")
      expect((yield* Effect.flip(notes.update(account, a.id, { content: "lost" }, got.etag)))._tag).toBe("NextcloudPreconditionFailed")
      yield* notes.delete(account, a.id)
      expect((yield* Effect.flip(notes.get(account, a.id)))._tag).toBe("NextcloudNotFound")
    }))
})
