/**
 * The MCP server runs each tools/call on a runtime made for the call: the
 * caller's services are there, and the call's log lines name the tool and
 * the user.
 */
import { describe, expect, it } from "vitest"
import { useHarness } from "../support/inProcess.js"

const harness = useHarness({ user: "ada-local" })

describe("tools/call runtime", () => {
  it("log lines of a call carry its tool and user; calls of other tools carry theirs", async () => {
    const h = await harness.start()
    const started = await h.call("nc_auth_provision_access", { scopes: ["notes.read"] })
    expect(started.structuredContent).toMatchObject({ success: true, user_id: "ada-local" })
    const line = h.logs().split("\n").find((l) => l.includes("login flow started"))
    expect(line).toBeDefined()
    expect(line).toContain("tool: 'nc_auth_provision_access'")
    expect(line).toContain("user: 'ada-local'")
    const status = await h.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({ status: "pending", user_id: "ada-local" })
    // The annotations belong to one call: nothing of the first call leaks into the next.
    expect(h.logs().split("\n").filter((l) => l.includes("tool: 'nc_auth_check_status'") && l.includes("login flow started"))).toEqual([])
  })
})
