// Shared helpers for the benchmarks: statistics, tables, and starting an MCP
// server over stdio with the SDK client. Everything runs against dist/.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const MAIN = path.join(ROOT, "dist", "main.js")
export const INDEX = path.join(ROOT, "dist", "index.js")
export const BARE = path.join(ROOT, "bench", "bare-server.mjs")

/** Sorted copy; quantile by nearest rank. */
export const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]

export const summarize = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    n: sorted.length,
    min: sorted[0],
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length
  }
}

export const fmt = (value, digits = 1) =>
  typeof value === "number" ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(value)

/** A Markdown table (also readable in a terminal). */
export const table = (headers, rows) => {
  const cells = [headers, ...rows].map((r) => r.map(String))
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`
  return [line(cells[0]), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)].join("\n")
}

export const tempDir = (prefix = "ncmcp-bench-") => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Spawn `node <args>` over stdio and complete `initialize`; resolves with the client, the elapsed ms and the server's pid. */
export const connectStdio = async (args, env = {}) => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env: { PATH: process.env.PATH ?? "", NC_MCP_LOG_LEVEL: "warn", ...env },
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (chunk) => {
    stderr += chunk.toString("utf8")
  })
  const client = new Client({ name: "bench", version: "0.0.0" }, { capabilities: {} })
  const started = process.hrtime.bigint()
  await client.connect(transport).catch((error) => {
    throw new Error(`could not start ${args.join(" ")}: ${error.message}\n${stderr}`)
  })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  return { client, ms, pid: transport.pid, stderr: () => stderr }
}

/** User + system CPU time of a live process, in ms (Linux `/proc/<pid>/stat`, clock ticks of 10 ms). */
export const cpuMs = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

/** `VmHWM` (peak resident set) and `VmRSS` of a live process, in MiB (Linux `/proc`). */
export const procMemory = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (field) => {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)
    return m ? Number(m[1]) / 1024 : Number.NaN
  }
  return { peakMb: kb("VmHWM"), rssMb: kb("VmRSS") }
}

/** Run `main` and print its report, or hand its result to the runner (`--json <file>`). */
export const runStandalone = async (meta, main) => {
  if (process.argv[1] !== fileURLToPath(meta.url)) return
  const result = await main()
  const jsonAt = process.argv.indexOf("--json")
  if (jsonAt >= 0) {
    const { writeFileSync } = await import("node:fs")
    writeFileSync(process.argv[jsonAt + 1], JSON.stringify(result))
  }
  console.log(`\n## ${result.title}\n\n${result.markdown}\n`)
  process.exit(0)
}

/**
 * A local OpenID issuer on 127.0.0.1: discovery document, JWKS, and ES256
 * access tokens for `audience` (`token(sub, scope)`).
 */
export const startIssuer = async (audience) => {
  const { createServer } = await import("node:http")
  const { SignJWT, exportJWK, generateKeyPair } = await import("jose")
  const { publicKey, privateKey } = await generateKeyPair("ES256")
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256", use: "sig" }
  let url = ""
  const server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }))
    }
    if (req.url === "/jwks") {
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(JSON.stringify({ keys: [jwk] }))
    }
    res.writeHead(404).end()
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    token: (sub, scope = "openid") =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: "ES256", kid: "bench" })
        .setIssuer(url)
        .setAudience(audience)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
    close: () => {
      server.close()
      server.closeAllConnections()
    }
  }
}

/**
 * Start a server process that logs `listening on <url>;` on stderr (the http
 * command, or the bare server); resolves with the child and its URL.
 */
export const spawnListening = async (args, env = {}) => {
  const { spawn } = await import("node:child_process")
  return new Promise((resolve, reject) => {
    // BENCH_NODE_ARGS: extra Node options for the measured servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
    const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    const timer = setTimeout(() => reject(new Error(`no start:\n${stderr}`)), 20_000)
    child.stderr.on("data", (c) => {
      stderr += c.toString("utf8")
      const m = /listening on (http:\/\/[^;\s]+);/.exec(stderr)
      if (m) {
        clearTimeout(timer)
        resolve({ child, url: m[1] })
      }
    })
    child.once("exit", (code) => reject(new Error(`exited ${code}:\n${stderr}`)))
  })
}
