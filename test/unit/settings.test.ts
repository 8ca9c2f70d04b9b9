/**
 * The settings table is the one place defaults and descriptions are written:
 * the README's tables must agree with it, and each command's `--help` lists
 * exactly the variables that command reads.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { commandHelp, rootHelp } from "../../src/commands/help.js"
import { type CommandName, defaultFor, SETTINGS } from "../../src/Config.js"

const README = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8")

/** `| \`NAME\` | default | meaning |` rows of the README's tables. */
const readmeRows = (): ReadonlyArray<{ readonly name: string; readonly default: string }> =>
  README.split("\n").flatMap((line) => {
    const m = /^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|/.exec(line)
    return m?.[1] === undefined || m[2] === undefined ? [] : [{ name: m[1], default: m[2] }]
  })

const normal = (text: string) => text.replaceAll("`", "").replace(/\s+/g, " ").trim()

describe("the README's configuration tables", () => {
  const rows = readmeRows()

  it("name only variables the server reads", () => {
    // Node's own variables the README documents next to ours (Node reads them at start).
    const known = new Set([...SETTINGS.map((s) => s.name), "NODE_EXTRA_CA_CERTS"])
    expect(rows.map((r) => r.name).filter((name) => !known.has(name))).toEqual([])
  })

  it("list every variable, with the default the settings table gives", () => {
    for (const setting of SETTINGS) {
      const mine = rows.filter((r) => r.name === setting.name)
      expect(mine.length, `${setting.name} is in a README table`).toBeGreaterThan(0)
      const accepted = [setting.default, ...Object.values(setting.defaultByCommand ?? {})].map(normal)
      for (const row of mine) expect(accepted, `${setting.name}'s default in the README`).toContain(normal(row.default))
    }
  })
})

describe("--help", () => {
  const help = (command: CommandName) => commandHelp("nextcloud-mcp", { name: command, summary: "", description: [], options: [], environment: command })

  it("lists for each command exactly the variables it reads, with that command's default", () => {
    for (const command of ["stdio", "http", "rotate-key"] as const) {
      const text = help(command)
      for (const setting of SETTINGS) {
        const line = new RegExp(`^  ${setting.name}$`, "m")
        expect(line.test(text), `${setting.name} under ${command}`).toBe(setting.commands.includes(command))
        if (setting.commands.includes(command)) expect(normal(text)).toContain(normal(defaultFor(setting, command)))
      }
    }
    expect(help("stdio")).not.toContain("NC_MCP_OIDC_ISSUER")
    expect(help("rotate-key")).not.toContain("NEXTCLOUD_HOST")
    const http = normal(help("http"))
    const keyEntry = http.slice(http.indexOf("NC_MCP_ENCRYPTION_KEY "), http.indexOf("NC_MCP_PREVIOUS_ENCRYPTION_KEYS "))
    expect(keyEntry.trim()).toMatch(/\(required\)$/)
  })

  it("is plain text that fits 80 columns (commands to copy excepted)", () => {
    const commands = [{ name: "stdio", summary: "Serve MCP over stdin/stdout for one local user (what desktop clients start, and whose start-up they wait for).", description: [], options: [] }]
    const texts = [help("stdio"), help("http"), help("rotate-key"), rootHelp("nextcloud-mcp", "1.0.0", "Summary.", commands)]
    for (const text of texts) {
      // biome-ignore lint: looking for escape characters
      expect(text).not.toMatch(/\u001b/)
      for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80)
    }
  })
})
