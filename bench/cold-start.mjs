// 1. stdio cold start: spawn → `initialize` answered, nextcloud-mcp (dist/main.js)
// vs a bare SDK server with one trivial tool. Runs alternate so both see the
// same machine load.
import * as path from "node:path"
import { BARE, MAIN, connectStdio, fmt, runStandalone, summarize, table, tempDir } from "./lib.mjs"

export const TARGET_RATIO = 1.5
export const TARGET_MS = 400

export const run = async ({ runs = 15 } = {}) => {
  const tmp = tempDir()
  const env = {
    NEXTCLOUD_HOST: "http://127.0.0.1:9",
    NC_MCP_DB: path.join(tmp.dir, "bench.db"),
    NC_MCP_USER: "bench"
  }
  const once = async (args, e) => {
    const { client, ms } = await connectStdio(args, e)
    await client.close()
    return ms
  }
  try {
    // The first start creates the database, its key and runs the migrations.
    const firstRun = await once([MAIN, "stdio"], env)
    await once([BARE], {}) // warm the file cache for both
    const bare = []
    const ours = []
    for (let i = 0; i < runs; i++) {
      bare.push(await once([BARE], {}))
      ours.push(await once([MAIN, "stdio"], env))
    }
    const b = summarize(bare)
    const o = summarize(ours)
    const ratio = o.median / b.median
    const rows = [
      ["bare SDK server (bench/bare-server.mjs)", b.n, fmt(b.min), fmt(b.median), fmt(b.p90)],
      ["nextcloud-mcp stdio (dist/main.js)", o.n, fmt(o.min), fmt(o.median), fmt(o.p90)]
    ]
    const markdown = [
      table(["server", "runs", "min ms", "median ms", "p90 ms"], rows),
      "",
      `- ratio of medians nextcloud-mcp / bare: **${fmt(ratio, 2)}×** (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? "met" : `missed by ${fmt(ratio - TARGET_RATIO, 2)}×`})`,
      `- nextcloud-mcp median: **${fmt(o.median, 0)} ms** (target ≤ ${TARGET_MS} ms: ${o.median <= TARGET_MS ? "met" : `missed by ${fmt(o.median - TARGET_MS, 0)} ms`})`,
      `- first start on a new database (key file + migrations): ${fmt(firstRun, 0)} ms`
    ].join("\n")
    return {
      name: "cold-start",
      title: "1. stdio cold start (spawn → initialize answered)",
      markdown,
      data: { bare: b, ours: o, ratio, firstRun },
      targets: [
        { what: "cold start ratio", target: `≤ ${TARGET_RATIO}×`, actual: `${fmt(ratio, 2)}×`, met: ratio <= TARGET_RATIO },
        { what: "cold start median", target: `≤ ${TARGET_MS} ms`, actual: `${fmt(o.median, 0)} ms`, met: o.median <= TARGET_MS }
      ]
    }
  } finally {
    tmp.cleanup()
  }
}

await runStandalone(import.meta, run)
