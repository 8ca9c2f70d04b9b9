/**
 * Login over stdio against a Nextcloud whose answers are odd or hostile:
 * URLs with a doubled slash or pointing at another host, and a poll answer
 * of 100 MB. The flow is only ever polled on NEXTCLOUD_HOST, the login URL
 * only ever shown on NEXTCLOUD_PUBLIC_URL, and the server survives.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Fault } from "../../src/simulator/index.js"
import { eventually } from "../support/eventually.js"
import { type StdioSession, useStdioFixture } from "../support/stdioServer.js"

const fx = useStdioFixture("ada-local")
let session: StdioSession | undefined

/** Another host on 127.0.0.1 that must never be contacted. */
let evil: { readonly host: string; readonly requests: Array<string>; readonly close: () => Promise<void> }
beforeEach(async () => {
  const requests: Array<string> = []
  const server = Http.createServer((req, res) => {
    requests.push(req.url ?? "")
    res.writeHead(404).end("[]")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  evil = {
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
})
afterEach(() => evil.close())

describe("login against odd or hostile Nextcloud answers", () => {
  it("a webroot ending in / (http://host//index.php/login/v2/poll) completes on NEXTCLOUD_HOST", async () => {
    await fx.sim.configure({ overwriteWebroot: "/" })
    session = await fx.start()
    const started = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    expect(started.structuredContent.login_url).toMatch(new RegExp(`^${fx.sim.url}/index.php/login/v2/flow/[0-9A-Za-z]{128}$`))
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
  })

  it("URLs naming another host send neither the poll token nor the user there", async () => {
    await fx.sim.configure({ overwriteWebroot: `//${evil.host}` })
    session = await fx.start({ env: { NEXTCLOUD_PUBLIC_URL: "https://cloud.example.com" } })
    const started = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    const loginUrl = started.structuredContent.login_url
    expect(loginUrl.startsWith(`https://cloud.example.com/${evil.host}/index.php/login/v2/flow/`)).toBe(true)
    await fx.sim.grant({ flow: loginUrl, userId: "alice" })
    await fx.sim.resetCounters()
    // The poll lands on the simulator (a path it does not serve, so the flow stays pending).
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("pending")
    expect((await fx.sim.counters()).requests["other"]).toBe(1)
    expect(evil.requests).toEqual([])
  })

  it("a 100 MB poll answer leaves the flow pending and the background poller running", async () => {
    const s = await fx.start({ env: { NC_MCP_POLL_INTERVAL_SECONDS: "0.2" } })
    session = s
    const started = await s.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    await fx.sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    await fx.sim.resetCounters()
    await fx.sim.injectFault({ target: "poll", fault: Fault.hugeBody(100 * 1024 * 1024, "json") })
    expect(await eventually(async () => ((await fx.sim.counters()).requests["poll"] ?? 0) >= 3), "three oversized polls").toBe(true)
    expect((await fx.sim.counters()).successfulPolls).toBe(0)
    await fx.sim.clearFaults()
    // The flow survived every failed poll: the poller (or this check) completes it now.
    expect(
      await eventually(async () => (await s.call("nc_auth_check_status")).structuredContent.status === "provisioned"),
      "the login to complete"
    ).toBe(true)
    expect(s.stderr()).not.toMatch(/RangeError|Invalid string length/)
  })
})
