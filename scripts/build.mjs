// Builds dist/:
// - main.js: the CLI as one bundle (lazy chunks under chunks/), so a desktop
//   client starting the server over stdio does not pay for resolving hundreds
//   of modules; only better-sqlite3 stays outside (a native addon).
// - index.js: the embedding API, importing its dependencies from
//   node_modules, so a host program and this package share one copy of
//   Effect (two copies do not share fiber refs, and their classes fail
//   `instanceof` across them).
// - types/ (with --types, for the published package): declarations of the
//   embedding API, emitted by tsc from the same compiler options the type
//   check uses. Slow (tens of seconds), so only `npm pack` / `npm publish` run it.
import { readFileSync } from "node:fs"
import { chmod, rm } from "node:fs/promises"
import { build } from "esbuild"

// What the embedding API leaves to node_modules: the declared dependencies
// (and their subpaths). Anything else it uses — the time zone data of
// @nextcloud/timezones, a build-time package — is bundled into it.
const manifest = JSON.parse(readFileSync("package.json", "utf8"))
const declared = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  legalComments: "none",
  // Less to parse at start-up; identifiers stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning"
}

// Stale chunks from earlier builds would otherwise pile up beside the new
// ones; the declarations stay unless they are rebuilt.
await Promise.all(
  ["chunks", "main.js", "main.js.map", "index.js", "index.js.map"].map((file) => rm(`dist/${file}`, { recursive: true, force: true }))
)
await Promise.all([
  build({
    ...common,
    entryPoints: { main: "src/main.ts" },
    outdir: "dist",
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    external: ["better-sqlite3"],
    banner: {
      // CommonJS dependencies inside an ESM bundle still call require().
      js: "import { createRequire as __ncmcpCreateRequire } from 'node:module'; const require = __ncmcpCreateRequire(import.meta.url);"
    }
  }),
  build({
    ...common,
    entryPoints: { index: "src/index.ts" },
    outdir: "dist",
    external: declared.flatMap((name) => [name, `${name}/*`])
  })
])
await chmod("dist/main.js", 0o755)

if (process.argv.includes("--types")) {
  const { default: ts } = await import("typescript")
  const configFile = ts.readConfigFile("tsconfig.json", ts.sys.readFile)
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, process.cwd())
  await rm("dist/types", { recursive: true, force: true })
  const program = ts.createProgram(["src/index.ts"], {
    ...options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: "src",
    outDir: "dist/types"
  })
  const { diagnostics } = program.emit()
  const problems = [...ts.getPreEmitDiagnostics(program), ...diagnostics]
  if (problems.length > 0) {
    console.error(ts.formatDiagnosticsWithColorAndContext(problems, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => "\n" }))
    process.exit(1)
  }
}
