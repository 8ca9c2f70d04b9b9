/**
 * The dependency rules of docs/architecture.md, checked on the source: the
 * import graph of src/ (every `import`/`export … from` and dynamic `import()`
 * of a relative path, read with a regular expression) has no cycles between
 * files, and none between folders; the simulator core and the shared
 * Nextcloud transport import nothing from src/apps; an app folder imports no
 * other app; the MCP transports import no app.
 */
import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const SRC = path.resolve(import.meta.dirname, "../src")

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"'`;]*?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g

/** Relative paths (from src/) of every TypeScript file under src/. */
const sourceFiles = (): ReadonlyArray<string> =>
  readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => file.split(path.sep).join("/"))

/** file → the files of src/ it imports. */
const fileGraph = (): ReadonlyMap<string, ReadonlySet<string>> => {
  const graph = new Map<string, Set<string>>()
  for (const file of sourceFiles()) {
    const imports = new Set<string>()
    for (const match of readFileSync(path.join(SRC, file), "utf8").matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? ""
      if (!specifier.startsWith(".")) continue
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier.replace(/\.js$/, ".ts")))
      imports.add(target)
    }
    graph.set(file, imports)
  }
  return graph
}

/** The node a file belongs to: its top folder under src/, or the file itself when it lies directly in src/. */
const folderOf = (file: string): string => (file.includes("/") ? file.slice(0, file.indexOf("/")) : file)

/** folder → the folders it imports from (itself excluded). */
const folderGraph = (files: ReadonlyMap<string, ReadonlySet<string>>): Map<string, Set<string>> => {
  const graph = new Map<string, Set<string>>()
  for (const [file, imports] of files) {
    const from = folderOf(file)
    const edges = graph.get(from) ?? new Set<string>()
    graph.set(from, edges)
    for (const target of imports) if (folderOf(target) !== from) edges.add(folderOf(target))
  }
  return graph
}

/** One cycle of the graph, as a path that ends where it starts; undefined when there is none. */
const findCycle = (graph: ReadonlyMap<string, ReadonlySet<string>>): ReadonlyArray<string> | undefined => {
  const state = new Map<string, "open" | "done">()
  const trail: Array<string> = []
  const visit = (node: string): ReadonlyArray<string> | undefined => {
    if (state.get(node) === "done") return undefined
    if (state.get(node) === "open") return [...trail.slice(trail.indexOf(node)), node]
    state.set(node, "open")
    trail.push(node)
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle !== undefined) return cycle
    }
    trail.pop()
    state.set(node, "done")
    return undefined
  }
  for (const node of graph.keys()) {
    const cycle = visit(node)
    if (cycle !== undefined) return cycle
  }
  return undefined
}

/** Folder edges that close a cycle and are allowed until they go (none now; the test says when one disappears). */
const ALLOWED_BACK_EDGES: ReadonlyArray<readonly [string, string]> = []

describe("the import graph of src/", () => {
  const files = fileGraph()
  const folders = folderGraph(files)
  const importsOf = (folder: string) => [...(folders.get(folder) ?? [])]

  it("is read from the source: every folder of the layout is found, with its imports", () => {
    for (const folder of ["domain", "storage", "auth", "provisioning", "nextcloud", "tools", "apps", "mcp", "simulator", "commands"]) {
      expect(folders.has(folder), folder).toBe(true)
    }
    expect(importsOf("apps")).toEqual(expect.arrayContaining(["tools", "nextcloud", "simulator", "domain"]))
    expect(importsOf("mcp")).toContain("tools")
  })

  it("has no cycle between files", () => {
    expect(findCycle(files)).toBeUndefined()
  })

  it("has no cycle between folders", () => {
    for (const [from, to] of ALLOWED_BACK_EDGES) {
      expect(folders.get(from)?.has(to), `the allowed edge ${from} → ${to} no longer exists: remove it from ALLOWED_BACK_EDGES`).toBe(true)
      folders.get(from)?.delete(to)
    }
    expect(findCycle(folders)).toBeUndefined()
  })

  it("the simulator core, the Nextcloud transport and the MCP transports import nothing from src/apps", () => {
    for (const folder of ["simulator", "nextcloud", "mcp"]) expect(importsOf(folder), folder).not.toContain("apps")
  })

  it("an app folder imports no other app", () => {
    for (const [file, imports] of files) {
      const app = /^apps\/([^/]+)\//.exec(file)?.[1]
      if (app === undefined) continue
      const others = [...imports].filter((target) => /^apps\/[^/]+\//.test(target) && !target.startsWith(`apps/${app}/`))
      expect(others, file).toEqual([])
    }
  })
})
