/**
 * The README's table of tools is the registry's: every tool the server offers,
 * by app, with the scopes it needs and its title. `NC_MCP_WRITE_README=1 npx
 * vitest run test/unit/toolsTable.test.ts` rewrites the table from the
 * registry.
 */
import { readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { APPS } from "../../src/apps/registry.js"
import { authTools } from "../../src/tools/auth.js"
import type { AnyTool } from "../../src/tools/Tool.js"

const README_PATH = path.resolve(import.meta.dirname, "../../README.md")
const START = "<!-- tools table: generated from src/apps/registry.ts, checked by test/unit/toolsTable.test.ts -->"
const END = "<!-- end of tools table -->"

const row = (app: string, tool: AnyTool) =>
  `| ${app} | \`${tool.name}\` | ${tool.scopes.length === 0 ? "none" : tool.scopes.map((s) => `\`${s}\``).join(", ")} | ${tool.title} |`

const expectedTable = (): string =>
  [
    START,
    "| app | tool | scopes | what it does |",
    "| --- | --- | --- | --- |",
    ...authTools.map((tool) => row("access", tool)),
    ...APPS.flatMap((app) => app.tools.map((tool) => row(app.name ?? app.id, tool))),
    END
  ].join("\n")

describe("the README's table of tools", () => {
  it("lists every tool of every registered app with its scopes", () => {
    const readme = readFileSync(README_PATH, "utf8")
    const start = readme.indexOf(START)
    const end = readme.indexOf(END)
    expect(start, "the README has the tools table").toBeGreaterThanOrEqual(0)
    const current = readme.slice(start, end + END.length)
    if (process.env["NC_MCP_WRITE_README"] === "1" && current !== expectedTable()) {
      writeFileSync(README_PATH, readme.slice(0, start) + expectedTable() + readme.slice(end + END.length))
      return
    }
    expect(current).toBe(expectedTable())
  })
})
