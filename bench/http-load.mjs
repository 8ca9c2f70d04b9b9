// Load on http mode: N concurrent MCP sessions for N distinct users, each
// calling nc_auth_check_status in a loop for a fixed time, against the built
// server (dist/main.js http) and, in the same run, against a bare SDK server
// (the same web-standard Streamable HTTP transport over node:http, one
// trivial tool, no auth). Reports throughput, p50/p99 latency, each
// server's CPU per call and peak RSS, and the ratio between the two; with
// `--json <file>` (bench/run.mjs) the throughput ratio is a target row
// (≥ 0.7×, as over stdio).
//
//   npm run build && node bench/http-load.mjs [--sessions 50] [--seconds 10]
//
// Not part of `npm test`. Everything stays on 127.0.0.1.
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { cpuMs, procMemory, spawnListening, startIssuer } from "./lib.mjs"

/** The same goal as over stdio (check-status.mjs). */
const TARGET_THROUGHPUT_RATIO = 0.7


const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const SELF = fileURLToPath(import.meta.url)

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback
}

// ---------------------------------------------------------------------------
// The bare server (child mode)

if (process.argv.includes("--bare-server")) {
  const { Server } = await import("@modelcontextprotocol/sdk/server/index.js")
  const { WebStandardStreamableHTTPServerTransport } = await import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")
  const { CallToolRequestSchema, ListToolsRequestSchema } = await import("@modelcontextprotocol/sdk/types.js")
  const sessions = new Map()
  const newServer = () => {
    const server = new Server({ name: "bare", version: "0.0.0" }, { capabilities: { tools: {} } })
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: "ping", description: "Answers pong.", inputSchema: { type: "object", properties: {} } }]
    }))
    server.setRequestHandler(CallToolRequestSchema, async () => {
      const result = { status: "pong" }
      return { structuredContent: result, content: [{ type: "text", text: JSON.stringify(result) }] }
    })
    return server
  }
  const node = createServer(async (req, res) => {
    const chunks = []
    for await (const c of req) chunks.push(c)
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined
    const headers = new Headers()
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v)
    const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers })
    const sid = req.headers["mcp-session-id"]
    let transport = typeof sid === "string" ? sessions.get(sid) : undefined
    if (transport === undefined) {
      transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport)
      })
      await newServer().connect(transport)
    }
    const response = await transport.handleRequest(request, body === undefined ? {} : { parsedBody: body })
    res.writeHead(response.status, Object.fromEntries(response.headers.entries()))
    if (response.body === null) return res.end()
    const reader = response.body.getReader()
    res.on("close", () => reader.cancel().catch(() => undefined))
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      res.write(value)
    }
    res.end()
  })
  node.listen(0, "127.0.0.1", () => process.stderr.write(`listening on http://127.0.0.1:${node.address().port};\n`))
  const stop = () => {
    node.close()
    node.closeAllConnections()
    process.exit(0)
  }
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
} else {
  await main()
}

// ---------------------------------------------------------------------------
// The driver

async function main() {
  const SESSIONS = arg("sessions", 50)
  const SECONDS = arg("seconds", 10) / 2 // per round; two rounds per server
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js")
  const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js")
  const { Simulator } = await import(path.join(ROOT, "dist", "index.js"))

  const AUDIENCE = "nextcloud-mcp-bench"
  const issuer = await startIssuer(AUDIENCE)
  const token = issuer.token

  const sim = await Simulator.startSimulator()
  const tmp = mkdtempSync(path.join(tmpdir(), "ncmcp-httpbench-"))

  const spawnServer = spawnListening


  const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]

  const run = async (label, target, tool) => {
    const t0 = performance.now()
    const clients = await Promise.all(
      Array.from({ length: SESSIONS }, async (_, i) => {
        // A kept-alive socket the server closes as it is reused resets the
        // connection (more likely on a loaded machine): open the session again.
        for (let attempt = 1; ; attempt++) {
          const transport = new StreamableHTTPClientTransport(new URL(`${target.url}/mcp`), {
            requestInit: { headers: { Authorization: `Bearer ${await token(`bench-user-${i}`)}` } }
          })
          const client = new Client({ name: "bench", version: "0" }, { capabilities: {} })
          try {
            await client.connect(transport)
            return { client, transport }
          } catch (error) {
            await client.close().catch(() => undefined)
            if (attempt >= 3) throw error
          }
        }
      })
    )
    const connectMs = performance.now() - t0
    // Warm-up: one call each (JIT, caches).
    await Promise.all(clients.map(({ client }) => client.callTool({ name: tool, arguments: {} })))
    const latencies = []
    let errors = 0
    const cpu0 = cpuMs(target.child.pid)
    const start = performance.now()
    const deadline = start + SECONDS * 1000
    await Promise.all(
      clients.map(async ({ client }) => {
        while (performance.now() < deadline) {
          const t = performance.now()
          const r = await client.callTool({ name: tool, arguments: {} }).catch(() => ({ isError: true }))
          latencies.push(performance.now() - t)
          if (r.isError) errors++
        }
      })
    )
    const elapsed = (performance.now() - start) / 1000
    const cpu = cpuMs(target.child.pid) - cpu0
    const rss = procMemory(target.child.pid).peakMb
    await Promise.all(clients.map(({ transport }) => transport.terminateSession().catch(() => undefined)))
    await Promise.all(clients.map(({ client }) => client.close()))
    latencies.sort((a, b) => a - b)
    return {
      label,
      latencies,
      calls: latencies.length,
      errors,
      throughput: latencies.length / elapsed,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      rss,
      connectMs,
      cpu
    }
  }

  const stop = (child) =>
    new Promise((resolve) => {
      child.once("exit", resolve)
      child.kill("SIGTERM")
    })

  const ours = await spawnServer([path.join(ROOT, "dist", "main.js"), "http", "--port", "0"], {
    NEXTCLOUD_HOST: sim.url,
    NC_MCP_DB: path.join(tmp, "bench.db"),
    NC_MCP_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64"),
    NC_MCP_OIDC_ISSUER: issuer.url,
    NC_MCP_AUDIENCE: AUDIENCE,
    NC_MCP_LOG_LEVEL: "info",
    NC_MCP_POLL_INTERVAL_SECONDS: "3600"
  })
  const bare = await spawnServer([SELF, "--bare-server"], {})
  process.stderr.write(`${SESSIONS} sessions × 2 rounds of ${SECONDS} s per server…\n`)
  // Two rounds per server, alternating (ours, bare, bare, ours), so a change
  // in the machine's load during the run weighs on both alike.
  const merge = (x, y) => ({
    label: x.label,
    calls: x.calls + y.calls,
    errors: x.errors + y.errors,
    throughput: (x.calls + y.calls) / (x.calls / x.throughput + y.calls / y.throughput),
    latencies: [...x.latencies, ...y.latencies].sort((p, q) => p - q),
    rss: Math.max(x.rss, y.rss),
    connectMs: (x.connectMs + y.connectMs) / 2,
    cpu: x.cpu + y.cpu
  })
  let a1, a2, b1, b2
  try {
    a1 = await run("nextcloud-mcp http (nc_auth_check_status)", ours, "nc_auth_check_status")
    b1 = await run("bare SDK server (ping)", bare, "ping")
    b2 = await run("bare SDK server (ping)", bare, "ping")
    a2 = await run("nextcloud-mcp http (nc_auth_check_status)", ours, "nc_auth_check_status")
  } finally {
    // Also when a run fails: the servers must not outlive the benchmark.
    await Promise.all([stop(ours.child), stop(bare.child)])
  }
  const withQuantiles = (m) => ({ ...m, p50: quantile(m.latencies, 0.5), p99: quantile(m.latencies, 0.99) })
  const a = withQuantiles(merge(a1, a2))
  const b = withQuantiles(merge(b1, b2))
  await sim.close()
  issuer.close()
  rmSync(tmp, { recursive: true, force: true })

  const f = (n, d = 1) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d })
  const rows = [
    ["throughput (calls/s)", f(a.throughput), f(b.throughput), f(a.throughput / b.throughput, 2)],
    ["p50 latency (ms)", f(a.p50, 2), f(b.p50, 2), f(a.p50 / b.p50, 2)],
    ["p99 latency (ms)", f(a.p99, 2), f(b.p99, 2), f(a.p99 / b.p99, 2)],
    ["server CPU per call (µs)", f((1000 * a.cpu) / a.calls, 0), f((1000 * b.cpu) / b.calls, 0), f((a.cpu / a.calls) / (b.cpu / b.calls), 2)],
    ["peak RSS (MiB)", f(a.rss), f(b.rss), f(a.rss / b.rss, 2)],
    [`open ${SESSIONS} sessions (ms)`, f(a.connectMs, 0), f(b.connectMs, 0), f(a.connectMs / b.connectMs, 2)],
    ["calls (errors)", `${a.calls} (${a.errors})`, `${b.calls} (${b.errors})`, ""]
  ]
  const headers = ["metric", "nextcloud-mcp http", "bare SDK http", "ratio"]
  const cells = [headers, ...rows]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`
  const title = `http load: ${SESSIONS} concurrent sessions (one user each), 2 × ${SECONDS} s per server (ours, bare, bare, ours), Node ${process.version}`
  const markdown = [line(headers), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n")
  console.log(`\n${title}\n`)
  console.log(markdown)
  const ratio = a.throughput / b.throughput
  const jsonAt = process.argv.indexOf("--json")
  if (jsonAt >= 0) {
    writeFileSync(
      process.argv[jsonAt + 1],
      JSON.stringify({
        name: "http-load",
        title: "http load: nc_auth_check_status over Streamable HTTP",
        markdown: `${title}\n\n${markdown}\n\n- server CPU per call from /proc/<pid>/stat over the measured rounds (the client runs on the same machine)`,
        targets: [
          { what: "check_status throughput ratio, http", target: `≥ ${TARGET_THROUGHPUT_RATIO}×`, actual: `${f(ratio, 2)}×`, met: ratio >= TARGET_THROUGHPUT_RATIO }
        ]
      })
    )
  }
}
