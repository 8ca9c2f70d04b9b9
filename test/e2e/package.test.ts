/**
 * The package as users install it: `bin`, `main`, `types` and `exports` name
 * what the build produces; the CLI bundle needs nothing installed but
 * better-sqlite3, and the embedding API needs only the declared
 * dependencies, whose required peers are declared too; `npm pack` ships
 * dist/ and nothing of the sources or tests. The Dockerfile's healthcheck,
 * run as written, tells a serving http process from a stopped one.
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { builtinModules } from "node:module"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { spawnHttpServer } from "../support/httpServer.js"

const ROOT = path.resolve(import.meta.dirname, "../..")
const run = promisify(execFile)

interface Manifest {
  readonly bin: Record<string, string>
  readonly main: string
  readonly types: string
  readonly exports: Record<string, { readonly types?: string; readonly default?: string } | string>
  readonly files: ReadonlyArray<string>
  readonly engines: { readonly node: string }
  readonly scripts: Record<string, string>
  readonly dependencies: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
  readonly peerDependencies?: Record<string, string>
}

const manifest = (dir: string): Manifest => {
  const parsed = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Partial<Manifest>
  return { ...parsed, dependencies: parsed.dependencies ?? {} } as Manifest
}
const ours = manifest(ROOT)

/** ESM imports and re-exports as esbuild writes them: `import{a}from"x"`, `import"x"`, `import("x")`, `export*from"x"`. */
const IMPORT = /\b(?:import|export)\s*(?:[\w$*{},\s]+?\bfrom\s*|\(\s*)?["']([@a-zA-Z][\w.\-@/]*)["']/g

/** The packages a bundled file imports (bare specifiers, by package name). */
const importedPackages = (file: string): Set<string> => {
  const text = readFileSync(file, "utf8")
  const names = new Set<string>()
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] as string
    const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string)
    if (!spec.startsWith("node:") && !builtinModules.includes(name)) names.add(name)
  }
  return names
}

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]
  )

describe("package.json", () => {
  it("names what the build produces: the CLI as bin, the embedding API as main, exports and types", () => {
    expect(ours.bin).toEqual({ "nextcloud-mcp": "dist/main.js" })
    const main = path.join(ROOT, "dist/main.js")
    expect(readFileSync(main, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true)
    expect(statSync(main).mode & 0o111).not.toBe(0)
    expect(ours.main).toBe("dist/index.js")
    expect(ours.exports["."]).toEqual({ types: "./dist/types/index.d.ts", default: "./dist/index.js" })
    expect(ours.types).toBe("dist/types/index.d.ts")
    expect(ours.files).toEqual(["dist/**/*.js", "dist/types/**/*.d.ts"])
    expect(ours.engines.node).toBe(">=20.19")
    // dist/ is built after `npm ci` and for git installs; the declarations when packing.
    expect(ours.scripts["prepare"]).toBe("node scripts/build.mjs")
    expect(ours.scripts["prepack"]).toBe("node scripts/build.mjs --types")
  })

  it("the CLI bundle imports no package but better-sqlite3", () => {
    const cli = [path.join(ROOT, "dist/main.js"), ...filesUnder(path.join(ROOT, "dist/chunks"))].filter((f) => f.endsWith(".js"))
    const imported = new Set(cli.flatMap((file) => [...importedPackages(file)]))
    expect([...imported]).toEqual(["better-sqlite3"])
  })

  it("the embedding API imports only declared dependencies, and every required peer of those is declared", () => {
    const declared = new Set(Object.keys(ours.dependencies))
    const imported = [...importedPackages(path.join(ROOT, "dist/index.js"))]
    expect(imported.length).toBeGreaterThan(0)
    expect(imported.filter((name) => !declared.has(name))).toEqual([])
    const missingPeers = [...declared].flatMap((name) => {
      const dep = manifest(path.join(ROOT, "node_modules", name))
      return Object.keys(dep.peerDependencies ?? {})
        // A peer the package also depends on comes with it.
        .filter((peer) => dep.peerDependenciesMeta?.[peer]?.optional !== true && !(peer in dep.dependencies) && !declared.has(peer))
        .map((peer) => `${name} → ${peer}`)
    })
    expect(missingPeers).toEqual([])
  })

  it("npm pack ships dist/ and the README, no sources, tests or source maps", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT })
    const [packed] = JSON.parse(stdout) as Array<{ readonly files: ReadonlyArray<{ readonly path: string }> }>
    const paths = (packed?.files ?? []).map((f) => f.path)
    expect(paths).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/main.js", "dist/index.js"]))
    expect(paths.filter((p) => !p.startsWith("dist/") && p !== "package.json" && p !== "README.md")).toEqual([])
    expect(paths.filter((p) => p.endsWith(".map"))).toEqual([])
  })
})

describe("Dockerfile", () => {
  const dockerfile = readFileSync(path.join(ROOT, "Dockerfile"), "utf8")
  const instruction = (name: string) =>
    dockerfile
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .filter((line) => line.startsWith(`${name} `))
      .map((line) => line.slice(name.length + 1).trim())

  const json = (name: string) => instruction(name).map((args) => JSON.parse(args) as unknown)

  it("serves http on all interfaces as an unprivileged user, with its state in a volume", () => {
    expect(json("ENTRYPOINT")).toEqual([["node", "dist/main.js"]])
    expect(json("CMD")).toEqual([["http", "--host", "0.0.0.0", "--port", "8000"]])
    expect(instruction("USER")).toEqual(["node"])
    expect(json("VOLUME")).toEqual([["/data"]])
    expect(dockerfile).toContain("NC_MCP_DB=/data/nextcloud-mcp.db")
  })

  it("its healthcheck, run as written, passes against a serving http process and fails once it stopped", async () => {
    const [healthcheck] = instruction("HEALTHCHECK")
    const command = JSON.parse((healthcheck ?? "").replace(/^.*?CMD\s+/, "")) as Array<string>
    expect(command.slice(0, 2)).toEqual(["node", "-e"])
    const script = command[2] as string
    expect(script).toContain("http://127.0.0.1:8000/healthz")
    const server = await spawnHttpServer({
      env: {
        NEXTCLOUD_HOST: "http://127.0.0.1:9",
        NC_MCP_DB: ":memory:",
        NC_MCP_OIDC_ISSUER: "http://127.0.0.1:9/issuer",
        NC_MCP_OIDC_JWKS_URL: "http://127.0.0.1:9/jwks",
        NC_MCP_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
        NC_MCP_POLL_INTERVAL_SECONDS: "3600"
      },
      args: ["--host", "0.0.0.0"]
    })
    // The test server listens on a free port instead of 8000.
    const probe = script.replace("127.0.0.1:8000", `127.0.0.1:${server.port}`)
    const healthy = await run(process.execPath, ["-e", probe]).then(() => 0, (e: { code?: number }) => e.code ?? -1)
    expect(healthy).toBe(0)
    expect(await server.stop("SIGTERM")).toBe(0)
    const stopped = await run(process.execPath, ["-e", probe]).then(() => 0, (e: { code?: number }) => e.code ?? -1)
    expect(stopped).toBe(1)
  })
})
