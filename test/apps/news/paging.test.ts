/**
 * News item ids and cursors: paging with `batchSize = limit + 1` and
 * `offset` = the lowest id seen visits every matching item exactly once,
 * newest first, against a model of the News API's ordering and offset rule.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import { batchSizeFor, decodeCursor, encodeCursor, MAX_ITEM_ID, pageOf } from "../../../src/apps/news/paging.js"

/** `GET /items` as News answers it: highest id first, only ids below a non-zero offset, at most batchSize. */
const answer = (ids: ReadonlyArray<number>, batchSize: number, offset: number) =>
  [...ids]
    .sort((a, b) => b - a)
    .filter((id) => offset === 0 || id < offset)
    .slice(0, batchSize)
    .map((id) => ({ id }))

describe("News paging", () => {
  it("a cursor is the lowest id of its page and decodes back to it; anything else is refused", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 1, max: MAX_ITEM_ID }), (id) => {
        expect(decodeCursor(encodeCursor(id))).toBe(id)
      }),
      { numRuns: 100 }
    )
    for (const bad of ["", "0", "-1", "01", "1.5", "abc", "1e3", "99999999999999999", " 1"]) expect(decodeCursor(bad), bad).toBeNull()
  })

  it("following next_cursor visits every item once, newest first, in pages of at most limit", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.uniqueArray(FastCheck.integer({ min: 1, max: 1_000_000 }), { maxLength: 60 }),
        FastCheck.integer({ min: 1, max: 25 }),
        (ids, limit) => {
          const seen: Array<number> = []
          let offset = 0
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThanOrEqual(ids.length + 1)
            const page = pageOf(answer(ids, batchSizeFor(limit), offset), limit)
            expect(page.items.length).toBeLessThanOrEqual(limit)
            seen.push(...page.items.map((i) => i.id))
            if (page.nextCursor === null) break
            const next = decodeCursor(page.nextCursor)
            expect(next).not.toBeNull()
            offset = next ?? 0
          }
          expect(seen).toEqual([...ids].sort((a, b) => b - a))
        }
      ),
      { numRuns: 100 }
    )
  })
})
