/**
 * The registry's rules, for every app listed: its id is an app of the scope
 * vocabulary, once; its tools are gated by its own scopes only and named
 * apart from every other tool; and the server's tool list is the auth tools
 * followed by each app's tools in registry order.
 */
import { describe, expect, it } from "vitest"
import { allTools, APPS } from "../../src/apps/registry.js"
import * as Scopes from "../../src/domain/Scope.js"
import { authTools } from "../../src/tools/auth.js"

describe("the app registry", () => {
  it("lists each app of the scope vocabulary at most once", () => {
    const ids = APPS.map((app) => app.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(Scopes.APPS).toContain(id)
  })

  it("gates every app tool by its own app's scopes, at least one", () => {
    for (const app of APPS) {
      for (const tool of app.tools) {
        expect(tool.access, tool.name).toBe("grant")
        expect(tool.scopes.length, tool.name).toBeGreaterThan(0)
        for (const scope of tool.scopes) expect(scope.startsWith(`${app.id}.`), `${tool.name}: ${scope}`).toBe(true)
      }
    }
  })

  it("derives the tool list: the auth tools, then each app's in order, every name once", () => {
    const appTools = APPS.flatMap((app): ReadonlyArray<{ readonly name: string }> => app.tools)
    expect(allTools.map((t) => t.name)).toEqual([...authTools, ...appTools].map((t) => t.name))
    const names = allTools.map((t) => t.name)
    expect(new Set(names).size).toBe(names.length)
  })
})
