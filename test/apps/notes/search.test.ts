/**
 * `nc_notes_search` reads the Notes API chunk by chunk; whatever the API
 * answers, the loop ends (page and time budget, repeated cursor) and says so.
 * Here the Notes service is a fake and time is the TestClock; the
 * simulator-backed runs are in test/apps/notes/tools.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted, TestClock } from "effect"
import { CurrentUser } from "../../../src/auth/CurrentUser.js"
import { Elicitation } from "../../../src/auth/Elicitation.js"
import { ScopeCache } from "../../../src/auth/ScopeCache.js"
import { UserId } from "../../../src/domain/Ids.js"
import { Progress } from "../../../src/tools/Progress.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import { type NoteSummary, Notes, type NotesPage, type NotesShape } from "../../../src/apps/notes/Client.js"
import { Provisioning } from "../../../src/provisioning/Provisioning.js"
import type { Grant } from "../../../src/storage/Storage.js"
import { searchNotes } from "../../../src/apps/notes/tools.js"
import { runTool } from "../../../src/tools/run.js"

const alice = UserId.make("alice")
const grant: Grant = {
  userId: alice,
  loginName: "alice",
  ncUserId: "alice",
  appPassword: Redacted.make("x".repeat(72)),
  scopes: null,
  createdAt: 0,
  updatedAt: 0
}

/** A Notes list that never ends: `page(n)` is the n-th answer (from 1); more than 1,000 is a runaway loop. */
const endlessNotes = (page: (n: number) => NotesPage, costs: Duration.DurationInput = 0) => {
  let calls = 0
  const list: NotesShape["list"] = () =>
    Effect.suspend(() => {
      calls++
      if (calls > 1_000) return Effect.dieMessage("the search never stops asking for pages")
      return Effect.as(TestClock.adjust(costs), page(calls))
    })
  return { layer: Layer.succeed(Notes, { list } as unknown as NotesShape), calls: () => calls }
}

const notesOfPage = (n: number): ReadonlyArray<NoteSummary> =>
  Array.from({ length: 100 }, (_, i) => ({ id: n * 100 + i, title: `note ${n * 100 + i}`, content: i === 0 ? "needle" : "hay", modified: n }))

const search = (notes: Layer.Layer<Notes>, timeout: Duration.DurationInput = "30 seconds") =>
  runTool(searchNotes, { query: "needle" }).pipe(
    Effect.map((result) => result.structuredContent as Record<string, unknown>),
    Effect.provide(
      Layer.mergeAll(
        notes,
        Layer.succeed(CurrentUser, { userId: alice, tokenScopes: null }),
        Layer.succeed(ScopeCache, { get: () => Effect.succeed(Option.some(grant)) } as unknown as ScopeCache["Type"]),
        Layer.succeed(Provisioning, {} as Provisioning["Type"]),
        NextcloudConfig.make("https://cloud.example.org", { requestTimeout: Duration.decode(timeout) }),
        Elicitation.none,
        Progress.none
      )
    )
  )

describe("nc_notes_search on a Notes list that never ends", () => {
  it.effect("stops after 100 chunks (10,000 notes) and says so", () =>
    Effect.gen(function* () {
      const notes = endlessNotes((n) => ({ notes: notesOfPage(n), cursor: `cursor-${n}` }))
      const out = yield* search(notes.layer)
      expect(notes.calls()).toBe(100)
      expect(out).toMatchObject({ success: true, stopped_early: true, notes_searched: 10_000, total_matches: 100, count: 20 })
      expect(out["message"]).toContain("stopped early after searching 10000 notes")
    }))

  it.effect("stops once the time budget (the Nextcloud timeout) is spent", () =>
    Effect.gen(function* () {
      const notes = endlessNotes((n) => ({ notes: notesOfPage(n), cursor: `cursor-${n}` }), "1 second")
      const out = yield* search(notes.layer, "5 seconds")
      expect(notes.calls()).toBe(5)
      expect(out).toMatchObject({ stopped_early: true, notes_searched: 500 })
      expect(out["message"]).toContain("ran out of time")
    }))

  it.effect("stops when a cursor comes back, and counts notes seen twice once", () =>
    Effect.gen(function* () {
      const notes = endlessNotes((n) => ({ notes: notesOfPage(n % 2), cursor: n % 2 === 0 ? "even" : "odd" }))
      const out = yield* search(notes.layer)
      expect(notes.calls()).toBe(3)
      expect(out).toMatchObject({ stopped_early: true, notes_searched: 200, total_matches: 2 })
      expect(out["message"]).toContain("same page again")
    }))

  it.effect("a list that ends is searched whole, without the early-stop note", () =>
    Effect.gen(function* () {
      const notes = endlessNotes((n) => ({ notes: notesOfPage(n), cursor: n < 3 ? `cursor-${n}` : null }))
      const out = yield* search(notes.layer)
      expect(out).toMatchObject({ stopped_early: false, notes_searched: 300, total_matches: 3 })
      expect(out["message"]).not.toContain("stopped early")
    }))
})
