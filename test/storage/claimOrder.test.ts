/**
 * Claimed flows come back from `UPDATE … RETURNING` in no defined order and
 * are sorted in memory: oldest first, then by user id in the order both
 * databases sort keys (UTF-8 bytes, i.e. code points), which is not
 * JavaScript's UTF-16 order for characters above U+FFFF.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { byAge } from "../../src/storage/statements.js"
import type { FlowRow } from "../../src/storage/rows.js"
import { arbUserId, uid } from "./fixtures.js"

const row = (userId: string, createdAt: number): FlowRow => ({
  user_id: uid(userId),
  poll_token_enc: "",
  poll_endpoint: "",
  login_url_enc: "",
  requested_scopes: null,
  purpose: "provision",
  elicitation_id: null,
  created_at: createdAt,
  expires_at: createdAt + 1
})

const bytewise = (a: FlowRow, b: FlowRow) =>
  a.created_at - b.created_at || Buffer.compare(Buffer.from(a.user_id, "utf8"), Buffer.from(b.user_id, "utf8"))

describe("byAge", () => {
  it("puts U+FFFD before U+1F600 (code-point order), as the databases do", () => {
    const rows = [row("\u{1F600}", 1), row("\uFFFD", 1), row("z", 0)]
    expect([...rows].sort(byAge).map((r) => r.user_id)).toEqual(["z", "\uFFFD", "\u{1F600}"])
  })

  it.prop("orders like the databases: by time, then by the user id's UTF-8 bytes", {
    rows: FastCheck.array(FastCheck.tuple(arbUserId, FastCheck.integer({ min: 0, max: 3 })), { maxLength: 30 })
  }, ({ rows }) => {
    const flows = rows.map(([u, t]) => row(u, t))
    expect([...flows].sort(byAge)).toEqual([...flows].sort(bytewise))
  })
})
