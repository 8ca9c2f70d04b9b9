// 4. Scope check on a cache hit: `requireScopes` with a warm ScopeCache,
// nanoseconds per check (one Effect program running N checks back to back).
import { Effect, Layer, Option, Redacted } from "effect"
import { INDEX, fmt, runStandalone, table } from "./lib.mjs"

const CHECKS = 200_000

export const run = async () => {
  const { CurrentUser, ScopeCache, Storage, requireScopes } = await import(INDEX)
  const grant = {
    userId: "bench",
    loginName: "bench",
    ncUserId: "bench",
    appPassword: Redacted.make("not-a-real-password"),
    scopes: ["files.read", "notes.read", "notes.write"],
    createdAt: 0,
    updatedAt: 0
  }
  let lookups = 0
  const storage = Layer.succeed(Storage, {
    getGrant: () => Effect.sync(() => (lookups++, Option.some(grant))),
    audit: () => Effect.void
  })
  const services = Layer.mergeAll(
    ScopeCache.layer().pipe(Layer.provide(storage)),
    Layer.succeed(CurrentUser, { userId: "bench", tokenScopes: null })
  )
  const loop = (check) =>
    Effect.gen(function* () {
      for (let i = 0; i < 2_000; i++) yield* check // warm-up (and fills the cache)
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < CHECKS; i++) yield* check
      return Number(process.hrtime.bigint() - t0) / CHECKS
    }).pipe(Effect.provide(services))
  const baseline = await Effect.runPromise(loop(Effect.void))
  const oneScope = await Effect.runPromise(loop(requireScopes({ tool: "bench", scopes: ["notes.read"] })))
  const twoScopes = await Effect.runPromise(loop(requireScopes({ tool: "bench", scopes: ["notes.read", "notes.write"] })))
  const rows = [
    ["empty loop step (Effect.void)", fmt(baseline, 0)],
    ['requireScopes("notes.read")', fmt(oneScope, 0)],
    ['requireScopes("notes.read", "notes.write")', fmt(twoScopes, 0)]
  ]
  const markdown = [
    table(["check (cache hit)", "ns per check"], rows),
    "",
    `- ${CHECKS.toLocaleString("en-US")} checks each; storage was read ${lookups} time(s) in all (the cache served the rest)`
  ].join("\n")
  return {
    name: "scope-check",
    title: "4. Scope check on a cache hit (requireScopes + warm ScopeCache)",
    markdown,
    data: { baseline, oneScope, twoScopes, lookups },
    targets: []
  }
}

await runStandalone(import.meta, run)
