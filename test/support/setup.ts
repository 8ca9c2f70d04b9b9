/**
 * Runs before every test file (vitest `setupFiles`).
 *
 * @effect/vitest's `layer(…)` installs its `effect`/`scoped`/`layer`/…
 * methods by `Object.assign` onto vitest's one shared `it` object. Within a
 * file that is how its nested API works; but when files share a module
 * graph (`isolate: false`), the last `layer(…)` of one file would also
 * serve the plain `it.effect` of every later file: tests would run in a
 * layer whose scope was already closed, or without the test services
 * (`excludeTestServices`: "testClock.adjust is not a function"). So every
 * file starts from the methods `it` had before any file changed them.
 */
import { it } from "@effect/vitest"

const METHODS = ["effect", "scoped", "live", "scopedLive", "flakyTest", "layer", "prop"] as const

type Methods = Pick<typeof it, (typeof METHODS)[number]>

const KEY = Symbol.for("nextcloud-mcp/test/effect-vitest-methods")
const store = globalThis as { [KEY]?: Methods }

// The first run in a worker sees the methods as @effect/vitest defined them.
store[KEY] ??= Object.fromEntries(METHODS.map((name) => [name, it[name]])) as unknown as Methods
Object.assign(it, store[KEY])
