/** Share permissions: named flags ⇄ Nextcloud's bit set. */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import {
  ALL_PERMISSIONS,
  decodePermissions,
  encodePermissions,
  PERMISSION_BITS,
  PERMISSION_NAMES
} from "../../../src/apps/sharing/permissions.js"

const names = FastCheck.array(FastCheck.constantFrom(...PERMISSION_NAMES), { maxLength: 8 })

describe("share permissions", () => {
  it("the bits are Nextcloud's: read 1, update 2, create 4, delete 8, share 16; all = 31", () => {
    expect(PERMISSION_BITS).toEqual({ read: 1, update: 2, create: 4, delete: 8, share: 16 })
    expect(encodePermissions(PERMISSION_NAMES)).toBe(ALL_PERMISSIONS)
    expect(decodePermissions(19)).toEqual(["read", "update", "share"])
  })

  it("encode is the OR of the flags, within 0..31; decode gives back the same set in canonical order", () => {
    FastCheck.assert(
      FastCheck.property(names, (flags) => {
        const bits = encodePermissions(flags)
        expect(bits).toBeGreaterThanOrEqual(0)
        expect(bits).toBeLessThanOrEqual(ALL_PERMISSIONS)
        expect(bits).toBe(flags.reduce((acc, f) => acc | PERMISSION_BITS[f], 0))
        const decoded = decodePermissions(bits)
        expect(new Set(decoded)).toEqual(new Set(flags))
        expect(decoded).toEqual(PERMISSION_NAMES.filter((n) => flags.includes(n)))
      }),
      { numRuns: 100 }
    )
  })

  it("decode then encode is the identity on 0..31, and ignores bits Nextcloud does not define", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 0, max: 2 ** 20 }), (bits) => {
        expect(encodePermissions(decodePermissions(bits))).toBe(bits & ALL_PERMISSIONS)
      }),
      { numRuns: 100 }
    )
  })
})
