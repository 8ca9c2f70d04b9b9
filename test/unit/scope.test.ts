/**
 * The scope algebra (docs/tool-contract.md §3) as laws over generated inputs: normalisation
 * of caller input, the set operations on grants, and token claims.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import * as Scopes from "../../src/domain/Scope.js"

type Scope = Scopes.Scope

const scope = Schema.typeSchema(Scopes.Scope)
/** Any list of scopes: unsorted, possibly with duplicates. */
const scopeList = fc.array(fc.constantFrom(...Scopes.ALL_SCOPES), { maxLength: 30 })
/** A grant as stored: sorted, duplicate-free. */
const canonical = fc.subarray([...Scopes.ALL_SCOPES])
const grantable = fc.option(canonical, { nil: null })
const identity = fc.constantFrom(...Scopes.IDENTITY_SCOPES)

const isCanonical = (xs: ReadonlyArray<string>) =>
  xs.every((x, i) => i === 0 || (xs[i - 1] as string) < x)

/** How a person might spell a scope: alias colon, any case, surrounding whitespace. */
const spelling = (s: Scope) =>
  fc
    .record({
      colon: fc.boolean(),
      upper: fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
      before: fc.stringOf(fc.constantFrom(" ", "\t", "\n", "\u00a0")),
      after: fc.stringOf(fc.constantFrom(" ", "\t", "\n", "\u00a0"))
    })
    .map(({ after, before, colon, upper }) => {
      const body = (colon ? s.replace(".", ":") : s)
        .split("")
        .map((c, i) => (upper[i] === true ? c.toUpperCase() : c))
        .join("")
      return `${before}${body}${after}`
    })

const spelled = fc.constantFrom(...Scopes.ALL_SCOPES).chain((s) => spelling(s).map((text) => ({ scope: s, text })))

/** Strings that are certainly not a scope once normalised (no `.`/`:`, or an unknown app). */
const junk = fc.oneof(
  fc.stringOf(fc.constantFrom("a", "b", "x", "z", "-", "_", "1")),
  fc.constantFrom("notes", "notes.", ".read", "notes.delete", "mail.read", "notes:read:write", "notes..read", "*", "all"),
  fc.tuple(fc.constantFrom(...Scopes.APPS), fc.constantFrom("READ", "write")).map(([a, b]) => `${a}_${b}`)
)

describe("normalisation of caller-supplied scopes", () => {
  it.prop("aliases, case and whitespace normalise to the canonical scope", [spelled], ([{ scope: s, text }]) => {
    expect(Scopes.normaliseOne(text)).toBe(s)
    expect(Scopes.parseScopes([text])).toEqual({ scopes: [s], invalid: [] })
  })

  it.prop("`a:b` and `a.b` parse alike", [scope], ([s]) => {
    expect(Scopes.parseScopes([s.replace(".", ":")])).toEqual(Scopes.parseScopes([s]))
  })

  const identitySpelling = identity.chain((i) => fc.constantFrom(i, i.toUpperCase(), ` ${i} `))
  const withIdentities = fc
    .tuple(fc.array(spelled.map((s) => s.text)), fc.array(identitySpelling))
    .chain(([texts, ids]) =>
      fc
        .shuffledSubarray([...texts, ...ids], { minLength: texts.length + ids.length })
        .map((mixed) => ({ texts, ids, mixed }))
    )

  it.prop("identity scopes are dropped, not reported", [withIdentities], ([{ ids, mixed, texts }]) => {
    const parsed = Scopes.parseScopes(mixed)
    expect(parsed.invalid).toEqual([])
    expect(parsed.scopes).toEqual(Scopes.parseScopes(texts).scopes)
    expect(Scopes.parseScopes(ids)).toEqual({ scopes: [], invalid: [] })
  })

  it.prop("the output is sorted and unique, and holds exactly the valid inputs", [fc.array(spelled, { maxLength: 40 })], ([items]) => {
    const { invalid, scopes } = Scopes.parseScopes(items.map((i) => i.text))
    expect(invalid).toEqual([])
    expect(isCanonical(scopes)).toBe(true)
    expect(new Set(scopes)).toEqual(new Set(items.map((i) => i.scope)))
  })

  it.prop("unknown entries are reported as given, in order, and never become scopes", [fc.array(spelled), fc.array(junk, { minLength: 1 })], ([good, bad]) => {
    const parsed = Scopes.parseScopes([...bad, ...good.map((g) => g.text)])
    expect(parsed.invalid).toEqual(bad)
    expect(parsed.scopes).toEqual(Scopes.parseScopes(good.map((g) => g.text)).scopes)
    expect(Scopes.parseScopesStrict([...bad, ...good.map((g) => g.text)])._tag).toBe("Left")
  })

  it.prop("normalisation is idempotent", [fc.array(fc.oneof(spelled.map((s) => s.text), junk, identity))], ([raw]) => {
    const once = Scopes.parseScopes(raw).scopes
    expect(Scopes.parseScopes(once)).toEqual({ scopes: once, invalid: [] })
    for (const item of raw) expect(Scopes.normaliseOne(Scopes.normaliseOne(item))).toBe(Scopes.normaliseOne(item))
  })

  it("strict parsing accepts the whole vocabulary and an empty list", () => {
    expect(Scopes.parseScopesStrict(Scopes.ALL_SCOPES)).toEqual(expect.objectContaining({ right: Scopes.ALL_SCOPES }))
    expect(Scopes.parseScopesStrict([])).toEqual(expect.objectContaining({ right: [] }))
    expect(Scopes.ALL_SCOPES).toHaveLength(20)
    expect(isCanonical(Scopes.ALL_SCOPES)).toBe(true)
  })
})

describe("set algebra on grants", () => {
  const asSet = (xs: ReadonlyArray<Scope>) => new Set(xs)

  it.prop("union: canonical, commutative, associative, idempotent, the set union", [scopeList, scopeList, scopeList], ([a, b, c]) => {
    const ab = Scopes.union(a, b)
    expect(isCanonical(ab)).toBe(true)
    expect(asSet(ab)).toEqual(new Set([...a, ...b]))
    expect(ab).toEqual(Scopes.union(b, a))
    expect(Scopes.union(ab, c)).toEqual(Scopes.union(a, Scopes.union(b, c)))
    expect(Scopes.union(a, a)).toEqual(Scopes.sorted(a))
    expect(Scopes.union(a, [])).toEqual(Scopes.sorted(a))
  })

  it.prop("intersection: canonical, commutative, associative, the set intersection", [scopeList, scopeList, scopeList], ([a, b, c]) => {
    const ab = Scopes.intersection(a, b)
    expect(isCanonical(ab)).toBe(true)
    expect(asSet(ab)).toEqual(new Set(a.filter((s) => b.includes(s))))
    expect(ab).toEqual(Scopes.intersection(b, a))
    expect(Scopes.intersection(ab, c)).toEqual(Scopes.intersection(a, Scopes.intersection(b, c)))
    expect(Scopes.intersection(a, Scopes.ALL_SCOPES)).toEqual(Scopes.sorted(a))
    expect(Scopes.intersection(a, [])).toEqual([])
  })

  it.prop("difference of grants: canonical, disjoint from what was removed, and a partition with the intersection", [canonical, canonical], ([a, b]) => {
    const d = Scopes.difference(a, b)
    expect(isCanonical(d)).toBe(true)
    expect(d.some((s) => b.includes(s))).toBe(false)
    expect(Scopes.union(d, Scopes.intersection(a, b))).toEqual(a)
    expect(Scopes.intersection(d, b)).toEqual([])
    expect(Scopes.difference(a, [])).toEqual(a)
    expect(Scopes.difference(a, a)).toEqual([])
  })

  it.prop("isSubset agrees with sets, and with union and intersection", [scopeList, scopeList], ([a, b]) => {
    expect(Scopes.isSubset(a, b)).toBe(a.every((s) => b.includes(s)))
    expect(Scopes.isSubset(a, Scopes.union(a, b))).toBe(true)
    expect(Scopes.isSubset(Scopes.intersection(a, b), a)).toBe(true)
    expect(Scopes.isSubset([], a)).toBe(true)
    expect(Scopes.isSubset(a, Scopes.ALL_SCOPES)).toBe(true)
  })

  it.prop("equals is set equality on grants", [canonical, canonical], ([a, b]) => {
    const setEqual = Scopes.isSubset(a, b) && Scopes.isSubset(b, a)
    expect(Scopes.equals(a, b)).toBe(setEqual)
    expect(Scopes.equals(a, a)).toBe(true)
    expect(Scopes.equals(a, b)).toBe(Scopes.equals(b, a))
    expect(Scopes.equals(Scopes.union(a, b), Scopes.union(b, a))).toBe(true)
  })

  it.prop("intersectGrants: null is unrestricted (the identity), otherwise the intersection", [grantable, grantable, grantable], ([a, b, c]) => {
    expect(Scopes.intersectGrants(null, a)).toEqual(a)
    expect(Scopes.intersectGrants(a, null)).toEqual(a)
    expect(Scopes.intersectGrants(null, null)).toBeNull()
    const ab = Scopes.intersectGrants(a, b)
    expect(ab === null).toBe(a === null && b === null)
    expect(Scopes.expand(ab)).toEqual(Scopes.intersection(Scopes.expand(a), Scopes.expand(b)))
    expect(ab).toEqual(Scopes.intersectGrants(b, a))
    expect(Scopes.intersectGrants(ab, c)).toEqual(Scopes.intersectGrants(a, Scopes.intersectGrants(b, c)))
  })

  it.prop("missing: nothing under an unrestricted grant; else the sorted required scopes not granted", [scopeList, grantable], ([required, granted]) => {
    const m = Scopes.missing(required, granted)
    expect(isCanonical(m)).toBe(true)
    if (granted === null) {
      expect(m).toEqual([])
    } else {
      expect(asSet(m)).toEqual(new Set(required.filter((s) => !granted.includes(s))))
      expect(m.length === 0).toBe(Scopes.isSubset(required, granted))
    }
    expect(Scopes.missing([], granted)).toEqual([])
    expect(Scopes.missing(required, Scopes.ALL_SCOPES)).toEqual([])
  })

  it("expand and format", () => {
    expect(Scopes.expand(null)).toEqual(Scopes.ALL_SCOPES)
    expect(Scopes.expand(["notes.read"])).toEqual(["notes.read"])
    expect(Scopes.format(null)).toContain("unrestricted")
    expect(Scopes.format([])).toBe("none")
    expect(Scopes.format(["files.read", "notes.read"])).toBe("files.read, notes.read")
  })
})

describe("scopes from token claims", () => {
  const separator = fc.stringOf(fc.constantFrom(" ", "\t", "\n"), { minLength: 1, maxLength: 3 })
  const claimItem = fc.oneof(spelled.map((s) => s.text.trim()), identity, junk.filter((j) => !/\s/.test(j) && j.length > 0))

  it.prop("a space-separated `scope` claim", [fc.array(fc.tuple(claimItem, separator)), separator], ([items, lead]) => {
    const claim = lead + items.map(([item, sep]) => `${item}${sep}`).join("")
    const expected = Scopes.parseScopes(items.map(([item]) => item)).scopes
    expect(Scopes.fromTokenClaim(claim)).toEqual(expected)
    expect(isCanonical(Scopes.fromTokenClaim(claim))).toBe(true)
  })

  it.prop("an `scp` array claim gives the same scopes as the string form", [fc.array(claimItem)], ([items]) => {
    expect(Scopes.fromTokenClaim(items)).toEqual(Scopes.fromTokenClaim(items.join(" ")))
  })

  it("examples", () => {
    expect(Scopes.fromTokenClaim("openid profile notes:read NOTES.WRITE mail.read")).toEqual(["notes.read", "notes.write"])
    expect(Scopes.fromTokenClaim(["files.read", "files.read", "email"])).toEqual(["files.read"])
    expect(Scopes.fromTokenClaim("")).toEqual([])
    expect(Scopes.fromTokenClaim("   ")).toEqual([])
    expect(Scopes.fromTokenClaim([])).toEqual([])
  })
})
