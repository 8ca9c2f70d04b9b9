/**
 * The real server on PostgreSQL whose network silently stops answering (a
 * frozen proxy on 127.0.0.1 in front of the real server): a tool call that
 * needs storage answers InternalError at the storage deadline (5 s by
 * default) instead of hanging, and the server serves again once the network
 * is back.
 *
 * Skipped with a warning when PostgreSQL is unreachable, except under
 * CI=true (see test/support/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type PromiseSimulator, startSimulator } from "../../src/simulator/index.js"
import { adminSql, freshSchemaName, pgAvailableFor, pgUrl } from "../support/postgres.js"
import { type StdioSession, startStdio } from "../support/stdioServer.js"
import { type FreezableProxy, startFreezableProxy } from "../support/tcpProxy.js"

const pgAvailable = await pgAvailableFor("stdio on a frozen PostgreSQL")

const schema = freshSchemaName("stdiofrozen")
let sim: PromiseSimulator
let proxy: FreezableProxy
let session: StdioSession | undefined

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!pgAvailable)("stdio on a frozen PostgreSQL", () => {
  beforeAll(async () => {
    sim = await startSimulator()
    const target = new URL(pgUrl)
    proxy = await startFreezableProxy({ host: target.hostname, port: Number(target.port || 5432) })
  })
  afterAll(async () => {
    await session?.close().catch(() => undefined)
    await proxy?.close()
    await sim?.close()
    await adminSql((sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
  })

  it("update_scopes answers InternalError while the database does not answer, and works once it does", async () => {
    const url = new URL(pgUrl)
    url.hostname = "127.0.0.1"
    url.port = String(proxy.port)
    session = await startStdio({
      env: {
        NEXTCLOUD_HOST: sim.url,
        NC_MCP_DATABASE_URL: url.toString(),
        NC_MCP_DATABASE_SCHEMA: schema,
        NC_MCP_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
        NC_MCP_USER: "ada-local",
        NC_MCP_POLL_INTERVAL_SECONDS: "3600"
      }
    })
    const started = await session.call("nc_auth_provision_access", { scopes: ["files.read", "files.write"] })
    await sim.grant({ flow: started.structuredContent.login_url, userId: "ada-5c7e" })
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")

    proxy.freeze()
    const before = Date.now()
    const frozen = await session.call("nc_auth_update_scopes", { remove_scopes: ["files.write"] })
    const answeredAfter = Date.now() - before
    proxy.unfreeze()
    console.info(`update_scopes on a frozen PostgreSQL answered after ${answeredAfter} ms`)
    expect(frozen.structuredContent).toMatchObject({ success: false, error_code: "InternalError" })
    expect(session.stderr()).toContain("no answer from the database")

    // Served again once the network is back (the abandoned write may or may not have landed).
    let served = false
    for (let i = 0; i < 100 && !served; i++) {
      served = (await session.call("nc_auth_update_scopes", { remove_scopes: ["files.write"] })).structuredContent.success
      if (!served) await sleep(200)
    }
    expect(served).toBe(true)
    expect((await session.call("nc_auth_check_status")).structuredContent).toMatchObject({ scopes: ["files.read"] })
  }, 60_000)
})
