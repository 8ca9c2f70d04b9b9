/**
 * The scope vocabulary (docs/tool-contract.md §3) and its algebra.
 *
 * A grant is either `null` ("no additional restriction") or a sorted,
 * duplicate-free list of canonical `app.action` scopes. Every function here is
 * pure so it can be property-tested.
 */
import { Array as Arr, Either, Schema } from "effect"

export const APPS = [
  "notes",
  "calendar",
  "todo",
  "contacts",
  "files",
  "tables",
  "deck",
  "cookbook",
  "sharing",
  "news"
] as const
export const ACTIONS = ["read", "write"] as const

export type App = (typeof APPS)[number]
export type Action = (typeof ACTIONS)[number]

export const ALL_SCOPES = APPS.flatMap((app) => ACTIONS.map((action) => `${app}.${action}` as const)).sort()

export const Scope = Schema.Literal(...ALL_SCOPES).annotations({
  identifier: "Scope",
  description: "A canonical application scope, `app.action`"
})
export type Scope = typeof Scope.Type

/** Scopes that identify the caller but grant no app access. */
export const IDENTITY_SCOPES = ["openid", "profile", "email"] as const
export type IdentityScope = (typeof IDENTITY_SCOPES)[number]

const scopeSet: ReadonlySet<string> = new Set(ALL_SCOPES)
const identitySet: ReadonlySet<string> = new Set(IDENTITY_SCOPES)

export const isScope = (s: string): s is Scope => scopeSet.has(s)
export const isIdentityScope = (s: string): s is IdentityScope => identitySet.has(s)

/** `notes:read`, ` Notes.Read ` → `notes.read`; anything else is returned trimmed for the error message. */
export const normaliseOne = (raw: string): string => raw.trim().toLowerCase().replaceAll(":", ".")

export interface ScopeParse {
  readonly scopes: ReadonlyArray<Scope>
  readonly invalid: ReadonlyArray<string>
}

/**
 * Normalise a caller-supplied list: aliases become the dot form, identity
 * scopes are dropped (they grant no app access), the result is sorted and
 * unique, and whatever is not in the vocabulary is reported.
 */
export const parseScopes = (raw: ReadonlyArray<string>): ScopeParse => {
  const scopes = new Set<Scope>()
  const invalid: Array<string> = []
  for (const item of raw) {
    const n = normaliseOne(item)
    if (isScope(n)) scopes.add(n)
    else if (!isIdentityScope(n)) invalid.push(item)
  }
  return { scopes: sorted(scopes), invalid }
}

/** Like {@link parseScopes} but for untrusted input: unknown scopes are an error. */
export const parseScopesStrict = (
  raw: ReadonlyArray<string>
): Either.Either<ReadonlyArray<Scope>, ReadonlyArray<string>> => {
  const { invalid, scopes } = parseScopes(raw)
  return invalid.length > 0 ? Either.left(invalid) : Either.right(scopes)
}

export const sorted = (scopes: Iterable<Scope>): ReadonlyArray<Scope> => Array.from(new Set(scopes)).sort()

/** `null` (unrestricted) expanded to the whole vocabulary. */
export const expand = (grant: ReadonlyArray<Scope> | null): ReadonlyArray<Scope> => grant ?? ALL_SCOPES

export const union = (a: ReadonlyArray<Scope>, b: ReadonlyArray<Scope>): ReadonlyArray<Scope> => sorted([...a, ...b])

export const difference = (a: ReadonlyArray<Scope>, b: ReadonlyArray<Scope>): ReadonlyArray<Scope> => {
  const drop = new Set(b)
  return a.filter((s) => !drop.has(s))
}

export const intersection = (a: ReadonlyArray<Scope>, b: ReadonlyArray<Scope>): ReadonlyArray<Scope> => {
  const keep = new Set(b)
  return sorted(a.filter((s) => keep.has(s)))
}

export const isSubset = (a: ReadonlyArray<Scope>, b: ReadonlyArray<Scope>): boolean => {
  const of = new Set(b)
  return a.every((s) => of.has(s))
}

export const equals = (a: ReadonlyArray<Scope>, b: ReadonlyArray<Scope>): boolean =>
  a.length === b.length && isSubset(a, b) && isSubset(b, a)

/**
 * Intersection where `null` means "no restriction from this side". The result
 * is `null` only when both sides are unrestricted.
 */
export const intersectGrants = (
  a: ReadonlyArray<Scope> | null,
  b: ReadonlyArray<Scope> | null
): ReadonlyArray<Scope> | null => (a === null ? b : b === null ? a : intersection(a, b))

/** The scopes of `required` that `granted` (null = everything) does not cover. */
export const missing = (required: ReadonlyArray<Scope>, granted: ReadonlyArray<Scope> | null): ReadonlyArray<Scope> =>
  granted === null ? [] : sorted(difference(required, granted))

/** Token scopes from a `scope` claim (space-separated) or `scp` claim (array); unknown entries are ignored. */
export const fromTokenClaim = (claim: string | ReadonlyArray<string>): ReadonlyArray<Scope> =>
  parseScopes(typeof claim === "string" ? claim.split(/\s+/).filter((s) => s.length > 0) : claim).scopes

export const format = (grant: ReadonlyArray<Scope> | null): string =>
  grant === null ? "all scopes (unrestricted)" : grant.length === 0 ? "none" : grant.join(", ")

export const apps = (grant: ReadonlyArray<Scope>): ReadonlyArray<string> =>
  Arr.dedupe(grant.map((s) => s.slice(0, s.indexOf("."))))
