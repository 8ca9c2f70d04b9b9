/**
 * Share permissions: the tools name them, Nextcloud stores a bit set
 * (`OCP\Constants::PERMISSION_*`): read 1, update 2, create 4, delete 8,
 * share 16; 31 is all of them (docs/nextcloud-protocol.md, "Sharing").
 */
import { Schema } from "effect"

export const PERMISSION_BITS = { read: 1, update: 2, create: 4, delete: 8, share: 16 } as const

export type PermissionName = keyof typeof PERMISSION_BITS

export const PERMISSION_NAMES = Object.keys(PERMISSION_BITS) as ReadonlyArray<PermissionName>

/** Every permission Nextcloud knows: `PERMISSION_ALL`. */
export const ALL_PERMISSIONS = 31

export const Permission = Schema.Literal(...(PERMISSION_NAMES as [PermissionName, ...Array<PermissionName>]))

/** The bit set of named permissions (duplicates are harmless). */
export const encodePermissions = (names: Iterable<PermissionName>): number => {
  let bits = 0
  for (const name of names) bits |= PERMISSION_BITS[name]
  return bits
}

/** The named permissions in a bit set, in canonical order; bits Nextcloud does not define are ignored. */
export const decodePermissions = (bits: number): ReadonlyArray<PermissionName> =>
  PERMISSION_NAMES.filter((name) => (bits & PERMISSION_BITS[name]) !== 0)
