/**
 * The demo's http step: `nextcloud-mcp http` on a free port of 127.0.0.1,
 * trusting the simulated Nextcloud as its OpenID issuer; the simulator mints
 * an access token (its `/__sim/oidc/token` hook) for the server's resource,
 * and an MCP SDK client over Streamable HTTP, sending it as a bearer token,
 * lists the tools and calls one. The server process ends with the step.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Data, Effect } from "effect"
import type { SimulatorHandle } from "../simulator/Simulator.js"

/** The http step did not go as it should. */
export class HttpStepError extends Data.TaggedError("HttpStepError")<{ readonly step: string; readonly message: string }> {}

const fail = (step: string) => (cause: unknown) =>
  new HttpStepError({ step, message: cause instanceof Error ? cause.message : String(cause) })

const STARTUP_LIMIT_MS = 15_000

/** `node <serverPath> http --port 0`, until its log names the MCP endpoint; killed when the scope closes. */
const startHttpServer = (serverPath: string, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly resource: string; readonly stderr: () => string; readonly stop: () => void }, HttpStepError>(
      (resume) => {
        const child = spawn(process.execPath, [serverPath, "http", "--host", "127.0.0.1", "--port", "0"], {
          env: { ...process.env, ...env },
          stdio: ["ignore", "ignore", "pipe"]
        })
        let stderr = ""
        let done = false
        const finish = (result: Effect.Effect<{ resource: string; stderr: () => string; stop: () => void }, HttpStepError>) => {
          if (done) return
          done = true
          clearTimeout(timer)
          resume(result)
        }
        const stop = () => {
          if (child.exitCode === null) child.kill("SIGTERM")
        }
        const timer = setTimeout(() => {
          stop()
          finish(Effect.fail(new HttpStepError({ step: "start the http server", message: `no MCP endpoint logged within ${STARTUP_LIMIT_MS} ms\n${stderr}` })))
        }, STARTUP_LIMIT_MS)
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString("utf8")
          const found = /MCP at (http:\/\/[^\s";]+)/.exec(stderr)
          if (found?.[1] !== undefined) finish(Effect.succeed({ resource: found[1], stderr: () => stderr, stop }))
        })
        child.on("exit", (code) =>
          finish(Effect.fail(new HttpStepError({ step: "start the http server", message: `exited with code ${code}\n${stderr}` })))
        )
        return Effect.sync(stop)
      }
    ),
    (server) => Effect.sync(server.stop)
  )

/** The http step, numbered by `step`, printing with `line`; `dir` holds its database. */
export const httpStep = (
  step: (title: string) => Effect.Effect<void>,
  line: (text: string) => Effect.Effect<void>,
  sim: SimulatorHandle,
  options: { readonly serverPath: string; readonly dir: string; readonly user: string }
) =>
  Effect.gen(function* () {
    yield* step("http mode: the same server for many users, with the simulated Nextcloud as OpenID issuer")
    const env = {
      NEXTCLOUD_HOST: sim.url,
      NC_MCP_OIDC_ISSUER: sim.url,
      NC_MCP_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      NC_MCP_DB: path.join(options.dir, "nextcloud-mcp-http.db"),
      NC_MCP_LOG_LEVEL: "info"
    }
    yield* line(`    node ${path.relative(process.cwd(), options.serverPath) || options.serverPath} http --port 0`)
    for (const name of ["NEXTCLOUD_HOST", "NC_MCP_OIDC_ISSUER"] as const) yield* line(`      ${name}=${env[name]}`)
    yield* line("      NC_MCP_ENCRYPTION_KEY=<32 random bytes, base64>")
    const server = yield* startHttpServer(options.serverPath, env)
    yield* line(`    ✓ listening; MCP at ${server.resource}`)

    const token = yield* sim
      .mintToken({ sub: options.user, scope: "notes.read notes.write", audience: server.resource })
      .pipe(Effect.mapError(fail("mint an access token")))
    yield* line(`    ✓ token minted by ${sim.url}/__sim/oidc/token for ${token.sub} (scope "${token.scope}", aud ${token.audience})`)

    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new Client({ name: "nextcloud-mcp-demo-http", version: "1.0.0" }, { capabilities: {} })
          await client.connect(
            new StreamableHTTPClientTransport(new URL(server.resource), {
              requestInit: { headers: { Authorization: `Bearer ${token.access_token}` } }
            })
          )
          return client
        },
        catch: fail("connect over Streamable HTTP")
      }),
      (client) => Effect.promise(() => client.close().catch(() => undefined))
    )
    const { tools } = yield* Effect.tryPromise({ try: () => client.listTools(), catch: fail("tools/list over http") })
    yield* line(`    ✓ tools/list with the bearer token: ${tools.length} tools`)
    const result = (yield* Effect.tryPromise({
      try: () => client.callTool({ name: "nc_auth_check_status", arguments: {} }),
      catch: fail("nc_auth_check_status over http")
    })) as CallToolResult
    const output = (result.structuredContent ?? {}) as Record<string, unknown>
    if (result.isError === true || output["success"] !== true) {
      return yield* new HttpStepError({ step: "nc_auth_check_status over http", message: JSON.stringify(output) })
    }
    yield* line(`    ✓ nc_auth_check_status for ${token.sub}: status ${JSON.stringify(output["status"])}`)
  }).pipe(Effect.scoped)
