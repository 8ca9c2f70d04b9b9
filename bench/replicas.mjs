// Several replicas on PostgreSQL: N concurrent MCP sessions (one user each)
// calling nc_auth_check_status in a loop for a fixed time, first against one
// `dist/main.js http` process on PostgreSQL, then against two processes on
// the same schema with the sessions spread over both (what a load balancer
// with sticky sessions does). Also measures how long a narrowing on one
// replica takes to be enforced on the other (grant-change notification).
//
//   npm run build && node bench/replicas.mjs [--sessions 50] [--seconds 10]
//
// PostgreSQL: NC_MCP_BENCH_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test); a fresh schema, dropped at the
// end. Not part of `npm test`. Everything stays on 127.0.0.1.
import { randomBytes } from "node:crypto"
import * as os from "node:os"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { INDEX, MAIN, fmt, procMemory, runStandalone, spawnListening, startIssuer, summarize, table } from "./lib.mjs"

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback
}
const SESSIONS = arg("sessions", 50)
const SECONDS = arg("seconds", 10)
const PG_URL = process.env.NC_MCP_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const AUDIENCE = "nextcloud-mcp-bench"

const adminSql = async (f) => {
  const PgClient = await import("@effect/sql-pg/PgClient")
  const SqlClient = await import("@effect/sql/SqlClient")
  const runtime = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(PG_URL), maxConnections: 1, connectTimeout: "3 seconds" }))
  try {
    return await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, f))
  } finally {
    await runtime.dispose()
  }
}

/** Peak resident set size of a process (Linux: VmHWM), in MiB. */
const spawnServer = (env) => spawnListening([MAIN, "http", "--port", "0"], env)

const stop = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", resolve)
    child.kill("SIGTERM")
  })

export const run = async () => {
  const reachable = await adminSql((sql) => sql`SELECT 1`).then(() => true, () => false)
  if (!reachable) {
    return {
      name: "replicas",
      title: "Replicas on PostgreSQL",
      markdown: `skipped: PostgreSQL not reachable at ${PG_URL.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@")}`,
      targets: []
    }
  }
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js")
  const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js")
  const { Simulator, simulatorApps } = await import(INDEX)

  const issuer = await startIssuer(AUDIENCE)
  const token = issuer.token

  // The notes calls below need the Notes app mounted.
  const sim = await Simulator.startSimulator({ apps: await simulatorApps() })
  const schema = `ncmcp_bench_replicas_${process.pid}_${randomBytes(3).toString("hex")}`
  const env = {
    NEXTCLOUD_HOST: sim.url,
    NC_MCP_DATABASE_URL: PG_URL,
    NC_MCP_DATABASE_SCHEMA: schema,
    NC_MCP_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString("base64"),
    NC_MCP_OIDC_ISSUER: issuer.url,
    NC_MCP_AUDIENCE: AUDIENCE,
    NC_MCP_LOG_LEVEL: "info",
    NC_MCP_POLL_INTERVAL_SECONDS: "3600",
    NC_MCP_FLOW_START_LIMIT: "1000"
  }

  const connect = async (target, sub, scope) => {
    const transport = new StreamableHTTPClientTransport(new URL(`${target.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${await token(sub, scope)}` } }
    })
    const client = new Client({ name: "bench", version: "0" }, { capabilities: {} })
    await client.connect(transport)
    return { client, transport }
  }

  /** SESSIONS sessions spread round-robin over `targets`, each calling in a loop. */
  const load = async (targets, tag) => {
    const clients = await Promise.all(
      Array.from({ length: SESSIONS }, (_, i) => connect(targets[i % targets.length], `bench-${tag}-${i}`))
    )
    await Promise.all(clients.map(({ client }) => client.callTool({ name: "nc_auth_check_status", arguments: {} })))
    const latencies = []
    let errors = 0
    const start = performance.now()
    const deadline = start + SECONDS * 1000
    await Promise.all(
      clients.map(async ({ client }) => {
        while (performance.now() < deadline) {
          const t = performance.now()
          const r = await client.callTool({ name: "nc_auth_check_status", arguments: {} }).catch(() => ({ isError: true }))
          latencies.push(performance.now() - t)
          if (r.isError) errors++
        }
      })
    )
    const elapsed = (performance.now() - start) / 1000
    await Promise.all(clients.map(({ transport }) => transport.terminateSession().catch(() => undefined)))
    await Promise.all(clients.map(({ client }) => client.close()))
    const s = summarize(latencies)
    return { calls: latencies.length, errors, throughput: latencies.length / elapsed, ...s, rss: targets.map((t) => procMemory(t.child.pid).peakMb) }
  }

  /** Narrow on `a`, then poll `b` until it refuses; repeated `rounds` times. */
  const propagation = async (a, b, rounds) => {
    const onA = await connect(a, "bench-narrow", "openid notes.read notes.write")
    const onB = await connect(b, "bench-narrow", "openid notes.read notes.write")
    const started = await onA.client.callTool({ name: "nc_auth_provision_access", arguments: { scopes: ["notes.read", "notes.write"] } })
    if (typeof started.structuredContent?.login_url !== "string") throw new Error(`provisioning did not start: ${JSON.stringify(started)}`)
    await sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    await onB.client.callTool({ name: "nc_auth_check_status", arguments: {} })
    const samples = []
    for (let k = 0; k < rounds; k++) {
      await onB.client.callTool({ name: "nc_notes_list", arguments: {} }) // cached on B
      const t0 = performance.now()
      await onA.client.callTool({ name: "nc_auth_update_scopes", arguments: { remove_scopes: ["notes.read"] } })
      for (;;) {
        const r = await onB.client.callTool({ name: "nc_notes_list", arguments: {} })
        if (r.isError && r.structuredContent?.error_code === "InsufficientScope") break
        if (performance.now() - t0 > 5000) throw new Error("narrowing not seen on the other replica within 5 s")
        await new Promise((r) => setTimeout(r, 5))
      }
      samples.push(performance.now() - t0)
      // Widening needs a new login: grant it and wait until B sees notes.read again.
      const widened = await onA.client.callTool({ name: "nc_auth_update_scopes", arguments: { add_scopes: ["notes.read"] } })
      if (typeof widened.structuredContent?.login_url !== "string") throw new Error(`widening did not start a login: ${JSON.stringify(widened)}`)
      await sim.grant({ flow: widened.structuredContent.login_url, userId: "alice" })
      await onA.client.callTool({ name: "nc_auth_check_status", arguments: {} })
      for (;;) {
        const r = await onB.client.callTool({ name: "nc_notes_list", arguments: {} })
        if (!r.isError) break
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    await onA.client.close()
    await onB.client.close()
    return summarize(samples)
  }

  const servers = []
  try {
    process.stderr.write(`${SESSIONS} sessions × ${SECONDS} s: one replica, then two…\n`)
    const one = await spawnServer(env)
    servers.push(one)
    const single = await load([one], "one")
    await stop(one.child)
    const [a, b] = await Promise.all([spawnServer(env), spawnServer(env)])
    servers.push(a, b)
    const double = await load([a, b], "two")
    const narrow = await propagation(a, b, 10)

    const row = (label, r) => [
      label,
      fmt(r.throughput),
      fmt(r.median, 2),
      fmt(r.p99, 2),
      r.rss.map((x) => fmt(x, 0)).join(" + "),
      `${r.calls} (${r.errors})`
    ]
    const markdown = [
      table(
        ["setup (PostgreSQL)", "calls/s", "p50 ms", "p99 ms", "peak RSS MiB", "calls (errors)"],
        [row("1 replica", single), row(`2 replicas (sessions spread)`, double)]
      ),
      "",
      `- ${SESSIONS} concurrent sessions (one user each) calling \`nc_auth_check_status\` for ${SECONDS} s; ${os.cpus().length} cores shared by the replicas, PostgreSQL, the simulator and the clients`,
      `- two replicas / one: **${fmt(double.throughput / single.throughput, 2)}×** throughput`,
      `- narrowing on replica A enforced on replica B (10 rounds, from sending \`nc_auth_update_scopes\` to B refusing): p50 **${fmt(narrow.median)} ms**, max ${fmt(narrow.max)} ms (cache TTL 5 min: only the notification can do this)`
    ].join("\n")
    return {
      name: "replicas",
      title: "Replicas: one vs two http processes on one PostgreSQL schema",
      markdown,
      data: { single, double, narrow },
      targets: [{ what: "narrowing seen by the other replica", target: "< 1000 ms", actual: `${fmt(narrow.max)} ms (max)`, met: narrow.max < 1000 }]
    }
  } finally {
    await Promise.all(servers.map((s) => stop(s.child)))
    await sim.close()
    issuer.close()
    await adminSql((sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
  }
}

await runStandalone(import.meta, run)
