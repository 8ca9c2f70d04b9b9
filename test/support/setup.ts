/**
 * Runs before every test file (vitest `setupFiles`).
 *
 * @effect/vitest's `layer(…)` installs its `effect`/`scoped`/`layer`/…
 * methods by `Object.assign` onto vitest's one shared `it` object. Within a
 * file that is how its nested API works; but files share a module graph
 * (`isolate: false`), so the last `layer(…)` of one file would also
 * serve the plain `it.effect` of every later file: tests would run in a
 * layer whose scope was already closed, or without the test services
 * (`excludeTestServices`: "testClock.adjust is not a function"). So every
 * file starts from the methods `it` had before any file changed them.
 *
 * A failed assertion about an Effect error must report the error, not
 * "Maximum call stack size exceeded". An error that failed inside a traced
 * function (`Effect.fn`, `withSpan`: every client call) is a Proxy carrying
 * its span; chai's inspector (loupe) does not take it for an Error, calls its
 * Node inspect hook, which returns the error itself, and inspects that again
 * until the stack runs out. Effect's errors get a chai hook that renders their
 * name and fields instead (test/unit/assertionMessages.test.ts).
 *
 * The temporary folders a file made with `tempDir` are removed after it.
 */
import { afterAll, it } from "@effect/vitest"
import { Data } from "effect"
import { inspect } from "node:util"
import { removeTempDirs } from "../storage/fixtures.js"

const METHODS = ["effect", "scoped", "live", "scopedLive", "flakyTest", "layer", "prop"] as const

type Methods = Pick<typeof it, (typeof METHODS)[number]>

const KEY = Symbol.for("nextcloud-mcp/test/effect-vitest-methods")
const store = globalThis as { [KEY]?: Methods }

// The first run in a worker sees the methods as @effect/vitest defined them.
store[KEY] ??= Object.fromEntries(METHODS.map((name) => [name, it[name]])) as unknown as Methods
Object.assign(it, store[KEY])

/** Effect's base class of `Data.Error`, `Data.TaggedError`, `Cause.UnknownException`, … */
const yieldableError = Object.getPrototypeOf(Data.Error.prototype) as object

Object.defineProperty(yieldableError, Symbol.for("chai/inspect"), {
  configurable: true,
  value(this: Error, options?: { readonly depth?: number }): string {
    const fields = { ...this } as Record<string, unknown>
    if (this.message !== "" && !("message" in fields)) fields["message"] = this.message
    return `${this.name} ${inspect(fields, { depth: options?.depth ?? 4, breakLength: Infinity })}`
  }
})

// Registered first, so it runs after the file's own `afterAll` hooks (after hooks run in reverse order).
afterAll(removeTempDirs)
