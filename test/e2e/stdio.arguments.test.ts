/**
 * Bad input over the wire, against the real server process: every bad call is
 * an error result (or the JSON-RPC error the MCP specification shows), the
 * server keeps answering afterwards, stdout carries only JSON-RPC and stderr
 * no secrets.
 */
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { type PromiseSimulator, startSimulator } from "../../src/simulator/index.js"
import { type StdioSession, startStdio, tempDir } from "../support/stdioServer.js"

let sim: PromiseSimulator
let tmp: ReturnType<typeof tempDir>
let session: StdioSession

beforeAll(async () => {
  sim = await startSimulator()
  tmp = tempDir()
  session = await startStdio({
    env: {
      NEXTCLOUD_HOST: sim.url,
      NC_MCP_DB: `${tmp.dir}/state.db`,
      NC_MCP_USER: "alice-local",
      NC_MCP_POLL_INTERVAL_SECONDS: "3600"
    }
  })
})
afterAll(async () => {
  await session.close()
  await sim.close()
  tmp.cleanup()
})

/** The server still answers a normal call. */
const stillServing = async () => {
  const r = await session.call("nc_auth_check_status")
  expect(r.isError ?? false).toBe(false)
  expect(["not_initiated", "pending", "provisioned"]).toContain(r.structuredContent.status)
}

const expectErrorResult = async (name: string, args: Record<string, unknown>, code: string) => {
  const r = await session.call(name, args)
  expect(r.isError).toBe(true)
  expect(r.structuredContent).toMatchObject({ success: false, error_code: code, status: "error" })
  expect(r.structuredContent.message.length).toBeGreaterThan(0)
  // Bounded, whatever came in.
  expect(JSON.stringify(r).length).toBeLessThan(20_000)
  await stillServing()
  return r.structuredContent
}

describe("bad arguments over stdio", () => {
  it("wrong types → InvalidArguments", async () => {
    await expectErrorResult("nc_auth_provision_access", { scopes: "notes.read" }, "InvalidArguments")
    await expectErrorResult("nc_auth_provision_access", { scopes: [42, null] }, "InvalidArguments")
    await expectErrorResult("nc_auth_check_status", { wait_seconds: "10" }, "InvalidArguments")
    await expectErrorResult("nc_auth_update_scopes", { add_scopes: { notes: "read" } }, "InvalidArguments")
  })

  it("arguments nested 10,000 levels deep → InvalidArguments, not a stack overflow", async () => {
    // Written by hand: JSON.stringify itself cannot serialise such a value.
    const deep = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`
    const before = session.stdout().length
    session.writeRaw(
      `{"jsonrpc":"2.0","id":900003,"method":"tools/call","params":{"name":"nc_auth_check_status","arguments":{"wait_seconds":${deep}}}}\n`
    )
    await vi.waitFor(() => {
      const answer = session
        .stdout()
        .slice(before)
        .split("\n")
        .find((l) => l.includes("900003"))
      expect(answer).toBeDefined()
      const parsed = JSON.parse(answer ?? "") as { result?: { isError?: boolean; structuredContent?: Record<string, unknown> } }
      expect(parsed.result?.isError).toBe(true)
      expect(parsed.result?.structuredContent).toMatchObject({ error_code: "InvalidArguments" })
      expect(String(parsed.result?.structuredContent?.["message"])).toContain("nested more than")
    })
    await stillServing()
  })

  it("unknown scopes → InvalidScopes listing them", async () => {
    const r = await expectErrorResult(
      "nc_auth_provision_access",
      { scopes: ["notes.read", "mail.send", "root"] },
      "InvalidScopes"
    )
    expect(r["invalid_scopes"]).toEqual(["mail.send", "root"])
    const u = await expectErrorResult("nc_auth_update_scopes", { add_scopes: ["notes.delete"] }, "InvalidScopes")
    expect(u["invalid_scopes"]).toEqual(["notes.delete"])
  })

  it("scopes: [] → InvalidScopes", async () => {
    await expectErrorResult("nc_auth_provision_access", { scopes: [] }, "InvalidScopes")
  })

  it("10,000 scopes → InvalidArguments", async () => {
    const scopes = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? "notes.read" : `bogus-${i}`))
    await expectErrorResult("nc_auth_provision_access", { scopes }, "InvalidArguments")
  })

  it("a huge string → InvalidArguments", async () => {
    await expectErrorResult("nc_auth_provision_access", { scopes: ["n".repeat(200_000)] }, "InvalidArguments")
  })

  it("extra properties → InvalidArguments", async () => {
    await expectErrorResult("nc_auth_provision_access", { scopes: ["notes.read"], user: "bob" }, "InvalidArguments")
    await expectErrorResult("nc_auth_check_status", { verbose: true }, "InvalidArguments")
    await expectErrorResult("nc_auth_revoke_access", { force: true }, "InvalidArguments")
  })

  it("wait_seconds: 500 → InvalidArguments, at once", async () => {
    await expectErrorResult("nc_auth_check_status", { wait_seconds: 500 }, "InvalidArguments")
    await expectErrorResult("nc_auth_check_status", { wait_seconds: -5 }, "InvalidArguments")
  })

  it("an unknown tool is a JSON-RPC error -32602", async () => {
    const failure = await session.client.callTool({ name: "nc_does_not_exist", arguments: {} }).then(
      () => null,
      (error: unknown) => error
    )
    expect(failure).toBeInstanceOf(McpError)
    expect((failure as McpError).code).toBe(ErrorCode.InvalidParams)
    await stillServing()
  })

  it("a malformed JSON line on stdin is survived", async () => {
    session.writeRaw('{"jsonrpc":"2.0","id":77,"method":"tools/call",\n')
    session.writeRaw("this is not json at all\n")
    await stillServing()
  })

  it("hand-made requests with non-object arguments get JSON-RPC errors, not a crash", async () => {
    const before = session.stdout().length
    session.writeRaw(
      `${JSON.stringify({ jsonrpc: "2.0", id: 900001, method: "tools/call", params: { name: "nc_auth_check_status", arguments: [1, 2] } })}\n`
    )
    session.writeRaw(`${JSON.stringify({ jsonrpc: "2.0", id: 900002, method: "tools/call", params: { arguments: {} } })}\n`)
    await vi.waitFor(() => {
      const answers = session
        .stdout()
        .slice(before)
        .split("\n")
        .filter((l) => l.includes("90000"))
        .map((l) => JSON.parse(l) as { id: number; error?: { code: number } })
      expect(answers.map((a) => a.id).sort()).toEqual([900001, 900002])
      // The SDK rejects a malformed tools/call envelope before the server's handler runs (as -32603 in SDK 1.32).
      for (const a of answers) expect([ErrorCode.InvalidParams, ErrorCode.InternalError]).toContain(a.error?.code)
    })
    await stillServing()
  })
})

describe("output hygiene", () => {
  it("neither stderr nor any tool result carries the app password or the poll token", async () => {
    // A whole provisioning, so secrets exist and pass through the server.
    const started = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    const flow = (await sim.listFlows()).find((f) => f.loginUrl === started.structuredContent.login_url)
    expect(flow).toBeDefined()
    const granted = await sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
    const done = await session.call("nc_auth_check_status")
    expect(done.structuredContent.status).toBe("provisioned")
    const revoked = await session.call("nc_auth_revoke_access")
    expect(revoked.structuredContent.status).toBe("revoked")

    const stderr = session.stderr()
    expect(stderr).toContain("app password stored")
    expect(stderr).not.toContain(granted.appPassword)
    expect(stderr).not.toContain(flow?.pollToken)
    const stdout = session.stdout()
    expect(stdout).not.toContain(granted.appPassword)
    expect(stdout).not.toContain(flow?.pollToken)
  })
})
