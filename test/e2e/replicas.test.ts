/**
 * Several http replicas on one PostgreSQL schema (the built server, two or
 * three processes): a login started on one is seen pending by the other
 * (which had remembered that there was none), completes once and is seen
 * by the other; narrowing on one is enforced by the other within 1 s (the
 * scope cache TTL is 5 minutes, so only the grant-change notification can
 * do it); a replica killed while holding a flow's lease leaves the flow to
 * the others once the lease runs out (moved into the past here rather than
 * waited for).
 *
 * Skipped with a warning when PostgreSQL is unreachable, except under
 * CI=true (see test/support/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ALL_SCOPES } from "../../src/domain/Scope.js"
import { eventually } from "../support/eventually.js"
import { answerOf, connectHttp, type HttpServerProcess, type HttpSession, modernPost, spawnHttpServer } from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"
import { adminSql, freshSchemaName, pgRequired, pgUrl, probePg, shownPgUrl } from "../support/postgres.js"
import { type SimulatorWithApps, startSimulatorWithApps } from "../support/simulator.js"

const KEY = Buffer.alloc(32, 9).toString("base64")
const AUDIENCE = "https://mcp.replicas.test/mcp"

const pg = await probePg()
if (!pg.available && pgRequired) {
  describe("replicas", () => {
    it("PostgreSQL must be reachable under CI=true", () => {
      expect.fail(`PostgreSQL is not reachable at ${shownPgUrl}: ${pg.why}`)
    })
  })
} else if (!pg.available) {
  console.warn(`replica tests skipped: PostgreSQL not reachable at ${shownPgUrl} (set NC_MCP_TEST_DATABASE_URL to run them)`)
}

const schema = freshSchemaName("replicas")
let issuer: TestIssuer
let sim: SimulatorWithApps
const servers: Array<HttpServerProcess> = []
const sessions: Array<HttpSession> = []
let a: HttpServerProcess
let b: HttpServerProcess

const replica = async () => {
  const server = await spawnHttpServer({
    env: {
      NEXTCLOUD_HOST: sim.url,
      NC_MCP_DATABASE_URL: pgUrl,
      NC_MCP_DATABASE_SCHEMA: schema,
      NC_MCP_ENCRYPTION_KEY: KEY,
      NC_MCP_OIDC_ISSUER: issuer.url,
      NC_MCP_AUDIENCE: AUDIENCE,
      NC_MCP_POLL_INTERVAL_SECONDS: "0.2"
    }
  })
  servers.push(server)
  return server
}

const connect = async (server: HttpServerProcess, sub: string) => {
  const session = await connectHttp(server.mcpUrl, await issuer.token({ sub, scope: ALL_SCOPES.join(" ") }))
  sessions.push(session)
  return session
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const statusOf = async (s: HttpSession) => (await s.call("nc_auth_check_status")).structuredContent["status"]

describe.skipIf(!pg.available)("replicas on one PostgreSQL schema", () => {
  beforeAll(async () => {
    issuer = await startIssuer({ audience: () => AUDIENCE })
    sim = await startSimulatorWithApps()
    ;[a, b] = await Promise.all([replica(), replica()])
  })

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)))
    await Promise.all(servers.map((s) => s.stop("SIGKILL")))
    await sim?.close()
    await issuer?.close()
    await adminSql((sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
  })

  it("a login started on A completes once and is seen on B; narrowing on A is enforced on B by notification, long before the 5-minute cache TTL", async () => {
    const onA = await connect(a, "alice")
    const onB = await connect(b, "alice")
    // B remembers that alice has no login stored; A's notification makes it look again.
    expect(await statusOf(onB)).toBe("not_initiated")
    const started = await onA.call("nc_auth_provision_access", { scopes: ["notes.read", "notes.write"] })
    expect(await eventually(async () => (await statusOf(onB)) === "pending")).toBe(true)
    const loginUrl = started.structuredContent["login_url"] as string
    expect(loginUrl).toContain("/login/v2/flow/")
    await sim.grant({ flow: loginUrl, userId: "alice" })
    expect(await eventually(async () => (await statusOf(onB)) === "provisioned")).toBe(true)
    // Both pollers and B's check ran against the same flow: it completed exactly once.
    await sleep(500)
    expect((await sim.counters()).successfulPolls).toBe(1)

    // B serves (and caches) the grant.
    const listed = await onB.call("nc_notes_list")
    expect(listed.isError ?? false, JSON.stringify(listed.structuredContent)).toBe(false)

    const narrowed = await onA.call("nc_auth_update_scopes", { remove_scopes: ["notes.read"] })
    expect(narrowed.isError ?? false, JSON.stringify(narrowed.structuredContent)).toBe(false)
    const refused = await eventually(async () => {
      const r = await onB.call("nc_notes_list")
      return r.isError === true && r.structuredContent["error_code"] === "InsufficientScope"
    }, 15_000)
    expect(refused).toBe(true)
  })

  it("a replica killed while holding a flow's lease: another completes the flow once the lease runs out", async () => {
    // Freeze B so that the flow can only be leased by A.
    b.child.kill("SIGSTOP")
    const onA = await connect(a, "bob")
    const started = await onA.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    const loginUrl = started.structuredContent["login_url"] as string
    const leased = await eventually(async () => {
      const rows = await adminSql((sql) =>
        sql<{ lease_owner: string | null }>`SELECT lease_owner FROM ${sql(schema)}.login_flows WHERE user_id = ${"bob"}`
      )
      return rows[0]?.lease_owner != null
    })
    expect(leased).toBe(true)
    expect(await a.stop("SIGKILL")).toBeNull()
    // A's lease is finite: it runs out within the poller's 10 s lease (renewed by each sweep while A lived).
    const leaseUntil = async () =>
      Number(
        (
          await adminSql((sql) =>
            sql<{ lease_until: string }>`SELECT lease_until FROM ${sql(schema)}.login_flows WHERE user_id = ${"bob"}`
          )
        )[0]?.lease_until
      )
    expect(await leaseUntil()).toBeLessThanOrEqual(Date.now() + 10_000)
    b.child.kill("SIGCONT")

    const before = (await sim.counters()).successfulPolls
    await sim.grant({ flow: loginUrl, userId: "ada-5c7e" })
    // Nobody renews the lease now; instead of waiting up to 10 s for it to run out, it is moved into the
    // past (when it runs out is the poller's and the storage's unit tests' concern, on TestClock).
    // B's poller then takes the flow over at its next sweep.
    await adminSql((sql) => sql`UPDATE ${sql(schema)}.login_flows SET lease_until = ${Date.now() - 1} WHERE user_id = ${"bob"}`)
    expect(await eventually(async () => (await sim.counters()).successfulPolls > before, 30_000, 200)).toBe(true)
    const onB = await connect(b, "bob")
    expect(await statusOf(onB)).toBe("provisioned")
    expect((await sim.counters()).successfulPolls).toBe(before + 1)
  })

  it("a login task started on one replica (MCP 2026-07-28, tasks extension) is answered by another, and completes there once the password is stored", async () => {
    const TASKS = { extensions: { "io.modelcontextprotocol/tasks": {} } }
    const token = await issuer.token({ sub: "carol", scope: ALL_SCOPES.join(" ") })
    const on = (server: HttpServerProcess, method: string, params: Record<string, unknown>) =>
      modernPost(server.mcpUrl, token, method, params, { capabilities: TASKS }).then(answerOf)
    // A was killed by the case before: a third replica starts the task.
    const c = await replica()
    const created = (await on(c, "tools/call", { name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } }))["result"] as {
      resultType: string
      taskId: string
      statusMessage: string
    }
    expect(created.resultType).toBe("task")
    const onB = async () => ((await on(b, "tasks/get", { taskId: created.taskId }))["result"] as { status: string; result?: { structuredContent: { status: string } } })
    expect((await onB()).status).toBe("working")
    const loginUrl = /(http\S+\/login\/v2\/flow\/\S+)/.exec(created.statusMessage)?.[1] as string
    await sim.grant({ flow: loginUrl, userId: "ada-5c7e" })
    expect(await eventually(async () => (await onB()).status === "completed", 15_000)).toBe(true)
    expect((await onB()).result?.structuredContent.status).toBe("provisioned")
  })
})
