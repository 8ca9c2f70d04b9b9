// 2. Tool-call throughput over stdio: `nc_auth_check_status` for a provisioned
// user (answered from storage) vs the bare server's trivial tool, 2,000
// sequential calls each.
import * as path from "node:path"
import { BARE, INDEX, MAIN, connectStdio, fmt, runStandalone, summarize, table, tempDir } from "./lib.mjs"

export const TARGET_THROUGHPUT_RATIO = 0.7

const timeCalls = async (client, name, args, calls) => {
  for (let i = 0; i < 50; i++) await client.callTool({ name, arguments: args }) // warm-up
  const samples = []
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint()
    const result = await client.callTool({ name, arguments: args })
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
    if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent)}`)
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { ...summarize(samples), perSecond: calls / seconds }
}

export const run = async ({ calls = 2000 } = {}) => {
  const { Simulator } = await import(INDEX)
  const sim = await Simulator.startSimulator()
  const tmp = tempDir()
  const env = {
    NEXTCLOUD_HOST: sim.url,
    NC_MCP_DB: path.join(tmp.dir, "bench.db"),
    NC_MCP_USER: "bench",
    NC_MCP_POLL_INTERVAL_SECONDS: "3600"
  }
  const ours = await connectStdio([MAIN, "stdio"], env)
  const bare = await connectStdio([BARE])
  try {
    const started = await ours.client.callTool({ name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } })
    await sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    const provisioned = await ours.client.callTool({ name: "nc_auth_check_status", arguments: {} })
    if (provisioned.structuredContent.status !== "provisioned") {
      throw new Error(`not provisioned: ${JSON.stringify(provisioned.structuredContent)}`)
    }
    const b = await timeCalls(bare.client, "ping", {}, calls)
    const o = await timeCalls(ours.client, "nc_auth_check_status", {}, calls)
    const ratio = o.perSecond / b.perSecond
    const rows = [
      ["bare SDK server, trivial tool", calls, fmt(b.median, 3), fmt(b.p99, 3), fmt(b.perSecond, 0)],
      ["nextcloud-mcp, nc_auth_check_status (provisioned)", calls, fmt(o.median, 3), fmt(o.p99, 3), fmt(o.perSecond, 0)]
    ]
    const markdown = [
      table(["server / tool", "calls", "p50 ms", "p99 ms", "calls/s"], rows),
      "",
      `- throughput ratio nextcloud-mcp / bare: **${fmt(ratio, 2)}×** (target ≥ ${TARGET_THROUGHPUT_RATIO}×: ${ratio >= TARGET_THROUGHPUT_RATIO ? "met" : `missed by ${fmt(TARGET_THROUGHPUT_RATIO - ratio, 2)}×`})`
    ].join("\n")
    return {
      name: "check-status",
      title: "2. nc_auth_check_status over stdio, 2,000 sequential calls",
      markdown,
      data: { bare: b, ours: o, ratio },
      targets: [
        { what: "check_status throughput ratio", target: `≥ ${TARGET_THROUGHPUT_RATIO}×`, actual: `${fmt(ratio, 2)}×`, met: ratio >= TARGET_THROUGHPUT_RATIO }
      ]
    }
  } finally {
    await ours.client.close()
    await bare.client.close()
    await sim.close()
    tmp.cleanup()
  }
}

await runStandalone(import.meta, run)
