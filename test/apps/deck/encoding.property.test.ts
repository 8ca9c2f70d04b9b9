/**
 * Deck argument encoding, as properties: labels named by id or by title (any
 * case) resolve to exactly the board's label ids, unknown ones are refused
 * naming the board's labels; due dates in RFC 3339 with any offset are
 * accepted and mean the same instant; and Deck's reorder numbering puts the
 * moved card where asked with every other card in its old relative order.
 */
import { Effect, Either, FastCheck as fc, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { reorderStack, type SimCard } from "../../../src/apps/deck/simulator.js"
import { DueDate, resolveLabels } from "../../../src/apps/deck/tools.js"

const labelsArb = fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 10_000 }), title: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^\d+$/.test(s)) }), {
  selector: (l) => l.id,
  maxLength: 8
}).map((labels) => {
  const seen = new Set<string>()
  return labels.filter((l) => !seen.has(l.title.toLowerCase()) && seen.add(l.title.toLowerCase())).map((l) => ({ ...l, color: "31CC7C" }))
})

describe("Deck argument encoding", () => {
  it("labels by id or title (any case) resolve to the board's ids, in order, once each", () => {
    fc.assert(
      fc.property(labelsArb, fc.array(fc.nat(), { maxLength: 10 }), fc.array(fc.boolean(), { maxLength: 10 }), (labels, picks, byTitle) => {
        fc.pre(labels.length > 0)
        const chosen = picks.map((p) => labels[p % labels.length]!)
        const refs = chosen.map((l, i) => (byTitle[i] === true ? (i % 2 === 0 ? l.title.toUpperCase() : l.title) : l.id))
        // Upper-casing may make a title collide with another label's: only check unambiguous cases.
        fc.pre(refs.every((r) => typeof r === "number" || labels.filter((l) => l.title.toLocaleLowerCase() === r.toLocaleLowerCase()).length === 1))
        const ids = Effect.runSync(resolveLabels({ id: 1, labels }, refs))
        expect(ids).toEqual([...new Set(chosen.map((l) => l.id))])
      }),
      { numRuns: 100 }
    )
  })

  it("an unknown label is refused, naming the board's labels", () => {
    fc.assert(
      fc.property(labelsArb, fc.integer({ min: 10_001, max: 20_000 }), (labels, missing) => {
        const result = Effect.runSync(Effect.either(resolveLabels({ id: 7, labels }, [missing])))
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left._tag).toBe("InvalidArguments")
          for (const l of labels) expect(result.left.message).toContain(`${l.id} "${l.title}"`)
        }
      }),
      { numRuns: 50 }
    )
  })

  it("due dates with any offset are accepted and keep their instant; anything else is refused", () => {
    const decode = Schema.decodeUnknownEither(DueDate)
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.integer({ min: -14 * 4, max: 14 * 4 }),
        (seconds, quarters) => {
          const offset = quarters * 15
          const local = new Date((seconds + offset * 60) * 1000).toISOString().slice(0, 19)
          const sign = offset < 0 ? "-" : "+"
          const abs = Math.abs(offset)
          const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`
          const decoded = decode(text)
          expect(Either.isRight(decoded), text).toBe(true)
          expect(Date.parse(text)).toBe(seconds * 1000)
        }
      ),
      { numRuns: 100 }
    )
    for (const bad of ["2026-12-24", "tomorrow", "2026-12-24T18:00:00", "2026-13-45T99:00:00Z"]) {
      expect(Either.isLeft(decode(bad)), bad).toBe(true)
    }
  })

  it("reorder puts the moved card at the position and keeps the others' relative order, numbered densely around it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.nat(), fc.integer({ min: 0, max: 20 }), (n, pick, position) => {
        const cards = Array.from({ length: n }, (_, i) => ({ id: i + 1, order: i }) as SimCard)
        const moved = cards[pick % n]!
        reorderStack(cards, moved.id, position)
        expect(moved.order).toBe(position)
        const others = cards.filter((c) => c.id !== moved.id)
        expect(others.map((c) => c.id)).toEqual([...others].sort((a, b) => a.order - b.order).map((c) => c.id))
        const expected = Array.from({ length: n }, (_, i) => i).filter((i) => i !== position).slice(0, n - 1)
        expect(others.map((c) => c.order)).toEqual(expected)
      }),
      { numRuns: 100 }
    )
  })
})
