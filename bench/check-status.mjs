// 2. Tool-call throughput over stdio: `nc_auth_check_status` for a provisioned
// user vs the bare server's trivial tool, 4,000 sequential calls each, from
// the same client process, after 2,000 warm-up calls each. The calls are made
// in rounds that alternate between the two servers (bare, ours, ours, bare,
// …), so a change in the machine's load during the run weighs on both alike.
// Besides wall-clock throughput, the servers' own CPU time per call is read
// from /proc, which the load of other processes disturbs less.
//
// The warm-up is long because both servers keep getting faster for their
// first ~2,000 calls (V8 optimises the hot functions in stages; the server
// CPU per call of each falls by half or more over that stretch), so shorter
// runs measure the compiler as much as the servers. The warm-up's own
// throughput is reported too.
import * as path from "node:path"
import { BARE, INDEX, MAIN, connectStdio, cpuMs, fmt, runStandalone, summarize, table, tempDir } from "./lib.mjs"

export const TARGET_THROUGHPUT_RATIO = 0.7


const WARM_UP = 2_000
const ROUNDS = 8

/** `calls` sequential calls in `ROUNDS` rounds per server, alternating ABBA; samples, wall seconds and server CPU per server. */
const timeInterleaved = async (servers, calls) => {
  const perRound = Math.ceil(calls / ROUNDS)
  const state = servers.map(() => ({ samples: [], seconds: 0, cpu: 0, warmUpPerSecond: 0 }))
  for (const [i, s] of servers.entries()) {
    const started = process.hrtime.bigint()
    for (let k = 0; k < WARM_UP; k++) await s.client.callTool({ name: s.tool, arguments: {} })
    state[i].warmUpPerSecond = WARM_UP / (Number(process.hrtime.bigint() - started) / 1e9)
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? servers.map((_, i) => i) : servers.map((_, i) => servers.length - 1 - i)
    for (const i of order) {
      const s = servers[i]
      const st = state[i]
      const cpu0 = cpuMs(s.pid)
      const started = process.hrtime.bigint()
      for (let k = 0; k < perRound; k++) {
        const t0 = process.hrtime.bigint()
        const result = await s.client.callTool({ name: s.tool, arguments: {} })
        st.samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
        if (result.isError) throw new Error(`${s.tool} failed: ${JSON.stringify(result.structuredContent)}`)
      }
      st.seconds += Number(process.hrtime.bigint() - started) / 1e9
      st.cpu += cpuMs(s.pid) - cpu0
    }
  }
  return state.map((st) => ({
    ...summarize(st.samples),
    perSecond: st.samples.length / st.seconds,
    cpuUsPerCall: (1000 * st.cpu) / st.samples.length,
    warmUpPerSecond: st.warmUpPerSecond
  }))
}

export const run = async ({ calls = 4000 } = {}) => {
  const { Simulator } = await import(INDEX)
  const sim = await Simulator.startSimulator()
  const tmp = tempDir()
  const env = {
    NEXTCLOUD_HOST: sim.url,
    NC_MCP_DB: path.join(tmp.dir, "bench.db"),
    NC_MCP_USER: "bench",
    NC_MCP_POLL_INTERVAL_SECONDS: "3600"
  }
  const ours = await connectStdio([...(process.env.NC_MCP_BENCH_PROFILE ? ["--cpu-prof", "--cpu-prof-dir", process.env.NC_MCP_BENCH_PROFILE] : []), MAIN, "stdio"], env)
  const bare = await connectStdio([BARE])
  try {
    const started = await ours.client.callTool({ name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } })
    await sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    const provisioned = await ours.client.callTool({ name: "nc_auth_check_status", arguments: {} })
    if (provisioned.structuredContent.status !== "provisioned") {
      throw new Error(`not provisioned: ${JSON.stringify(provisioned.structuredContent)}`)
    }
    const [b, o] = await timeInterleaved(
      [
        { client: bare.client, pid: bare.pid, tool: "ping" },
        { client: ours.client, pid: ours.pid, tool: "nc_auth_check_status" }
      ],
      calls
    )
    const ratio = o.perSecond / b.perSecond
    const rows = [
      ["bare SDK server, trivial tool", b.n, fmt(b.median, 3), fmt(b.p99, 3), fmt(b.perSecond, 0), fmt(b.cpuUsPerCall, 0)],
      ["nextcloud-mcp, nc_auth_check_status (provisioned)", o.n, fmt(o.median, 3), fmt(o.p99, 3), fmt(o.perSecond, 0), fmt(o.cpuUsPerCall, 0)]
    ]
    const markdown = [
      table(["server / tool", "calls", "p50 ms", "p99 ms", "calls/s", "server CPU µs/call"], rows),
      "",
      `- ${ROUNDS} rounds per server, alternating (bare, ours, ours, bare), after ${fmt(WARM_UP, 0)} warm-up calls each; one client process, one pipe per server`,
      `- during the warm-up (each server's first ${fmt(WARM_UP, 0)} calls): bare ${fmt(b.warmUpPerSecond, 0)} calls/s, nextcloud-mcp ${fmt(o.warmUpPerSecond, 0)} calls/s (${fmt(o.warmUpPerSecond / b.warmUpPerSecond, 2)}×)`,
      `- throughput ratio nextcloud-mcp / bare: **${fmt(ratio, 2)}×** (target ≥ ${TARGET_THROUGHPUT_RATIO}×: ${ratio >= TARGET_THROUGHPUT_RATIO ? "met" : `missed by ${fmt(TARGET_THROUGHPUT_RATIO - ratio, 2)}×`})`
    ].join("\n")
    return {
      name: "check-status",
      title: "2. nc_auth_check_status over stdio, 4,000 sequential calls after 2,000 warm-up calls",
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
