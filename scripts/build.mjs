// Bundles the CLI into one file so a desktop client starting the server over
// stdio does not pay for loading hundreds of modules (better-sqlite3 stays
// external: it is a native addon).
import { chmod, rm } from "node:fs/promises"
import { build } from "esbuild"

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3"],
  sourcemap: "linked",
  legalComments: "none",
  // Less to parse at start-up; identifiers stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  banner: {
    // CommonJS dependencies inside an ESM bundle still call require().
    js: "import { createRequire as __ncmcpCreateRequire } from 'node:module'; const require = __ncmcpCreateRequire(import.meta.url);"
  }
}

// Stale chunks from earlier builds would otherwise pile up beside the new ones.
await rm("dist", { recursive: true, force: true })
await build({
  ...common,
  entryPoints: { main: "src/main.ts", index: "src/index.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]"
})
await chmod("dist/main.js", 0o755)
