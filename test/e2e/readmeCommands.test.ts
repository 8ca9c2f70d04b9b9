/**
 * The README's commands run as written: every command in a fenced shell block
 * or an inline code span that starts with `nextcloud-mcp`, `npm` or `npx`
 * (after any `VAR=value` prefixes) is extracted. The product's commands
 * (`nextcloud-mcp …`, `npx … nextcloud-mcp …`) have their `--help` form run
 * against the build — one process per subcommand — and every option they use
 * must be one that subcommand's help lists. `npm run <script>` / `npm test`
 * must name a script of package.json. npm's own commands are not the
 * product's: each is listed below with the reason it is not run.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")
const readme = readFileSync(path.join(root, "README.md"), "utf8")
const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts
const cli = path.join(root, "dist", "main.js")

/** npm's own commands the README uses, and why the test does not run them. */
const NOT_THE_PRODUCT: Record<string, string> = {
  "npm ci": "npm's clean install of the dependencies: minutes, network, and it is what the other commands' set-up is",
  "npm install": "npm's install (global or from git): changes the machine; test/e2e/package.test.ts checks the packed package",
  "npm pack": "npm's packing: test/e2e/package.test.ts checks what it ships",
  "npx vitest": "the test runner, not the product: this suite runs under it"
}

const SUBCOMMANDS = new Set(["stdio", "http", "simulate", "demo", "rotate-key"])
const SHELL_LANGUAGES = new Set(["", "sh", "bash", "shell", "console"])
const INLINE = /`((?:nextcloud-mcp|npm|npx) [^`]*)`/g
const ASSIGNMENT = /^(?:[A-Z_][A-Z0-9_]*=(?:"[^"]*"|'[^']*'|\$\([^)]*\)|\S+)\s+)+/

/** The bodies of the fenced blocks in a shell language (or none). */
const shellBlocks = (text: string): ReadonlyArray<string> => {
  const blocks: Array<string> = []
  let open: { language: string; lines: Array<string> } | null = null
  for (const line of text.split("\n")) {
    const fence = /^```(\S*)\s*$/.exec(line)
    if (fence !== null && open === null) open = { language: fence[1] ?? "", lines: [] }
    else if (fence !== null && open !== null) {
      if (SHELL_LANGUAGES.has(open.language)) blocks.push(open.lines.join("\n"))
      open = null
    } else open?.lines.push(line)
  }
  return blocks
}

/** The README's commands that start with nextcloud-mcp, npm or npx, as written (continuations joined, comments dropped). */
const extractCommands = (text: string): ReadonlyArray<string> => {
  const found: Array<string> = []
  const consider = (line: string) => {
    for (const part of line.split(/\s(?:&&|\|\||;|\||&)\s/)) {
      const command = part.trim().replace(ASSIGNMENT, "")
      if (/^(nextcloud-mcp|npm|npx)(\s|$)/.test(command)) found.push(command)
    }
  }
  for (const block of shellBlocks(text)) {
    for (const line of block.replace(/\\\n\s*/g, " ").split("\n")) consider(line.replace(/\s+#.*$/, ""))
  }
  for (const [, span = ""] of text.matchAll(INLINE)) consider(span)
  return [...new Set(found)]
}

/** The product's arguments of a command: after `nextcloud-mcp`, or after npx's package spec naming it; null if not the product. */
const productArgs = (command: string): ReadonlyArray<string> | null => {
  const words = command.split(/\s+/)
  if (words[0] === "nextcloud-mcp") return words.slice(1)
  if (words[0] !== "npx") return null
  const spec = words.slice(1).findIndex((w) => !w.startsWith("-"))
  return spec >= 0 && /nextcloud-mcp/.test(words[spec + 1] ?? "") ? words.slice(spec + 2) : null
}

const commands = extractCommands(readme)

describe("the README's commands", () => {
  it("are found: the product's, npm's scripts and npm's own", () => {
    expect(commands).toContain("nextcloud-mcp http --host 127.0.0.1 --port 8000")
    expect(commands).toContain("nextcloud-mcp simulate --port 8080")
    expect(commands).toContain("npm run demo")
  })

  it("npm's own commands are the listed ones; npm run and npm test name scripts of package.json", () => {
    for (const command of commands.filter((c) => c.startsWith("npm "))) {
      const [, verb = "", script] = command.split(/\s+/)
      if (verb === "run") expect(Object.keys(scripts), command).toContain(script)
      else if (verb === "test") expect(Object.keys(scripts), command).toContain("test")
      else expect(NOT_THE_PRODUCT, `${command}: not the product's, give the reason it is not run`).toHaveProperty([`npm ${verb}`])
    }
  })

  for (const command of commands) {
    const reason = NOT_THE_PRODUCT[command.split(/\s+/).slice(0, 2).join(" ")]
    if (reason !== undefined) it.skip(`not run: ${command} — ${reason}`, () => {})
  }

  it("npx commands that do not run the product are the listed ones", () => {
    for (const command of commands.filter((c) => c.startsWith("npx ") && productArgs(c) === null)) {
      expect(NOT_THE_PRODUCT, `${command}: not the product's, give the reason it is not run`).toHaveProperty([
        command.split(/\s+/).slice(0, 2).join(" ")
      ])
    }
  })

  it("the product's commands: their --help runs, and lists every option they use", () => {
    const product = commands.flatMap((command) => {
      const args = productArgs(command)
      return args === null ? [] : [{ command, args }]
    })
    expect(product.length).toBeGreaterThan(3)
    const help = new Map<string, string>()
    for (const { command, args } of product) {
      const sub = args.find((a) => SUBCOMMANDS.has(a)) ?? ""
      if (!help.has(sub)) {
        help.set(sub, execFileSync(process.execPath, [cli, ...(sub === "" ? [] : [sub]), "--help"], { encoding: "utf8", timeout: 30_000 }))
      }
      const text = help.get(sub) ?? ""
      expect(text, command).toMatch(/Usage/i)
      for (const flag of args.filter((a) => /^\[?--[a-z]/.test(a)).map((a) => a.replace(/^\[/, "").replace(/[=\]].*$/, ""))) {
        expect(text, `${command}: ${flag} is not in \`nextcloud-mcp ${sub} --help\``).toContain(flag)
      }
    }
  }, 120_000)
})
