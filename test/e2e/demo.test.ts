/**
 * `nextcloud-mcp demo` as a user runs it: the built CLI, its exit code and the
 * lines that show each step worked.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { MAIN } from "../support/stdioServer.js"

describe("nextcloud-mcp demo", () => {
  it("runs the whole product end to end, prints each step, cleans up and exits 0", () => {
    // Its own temporary folder: another run beside this one (or its demo) makes folders in the shared one.
    const tmp = mkdtempSync(path.join(tmpdir(), "ncmcp-demo-test-"))
    const run = spawnSync(process.execPath, [MAIN, "demo"], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "", TMPDIR: tmp },
      timeout: 60_000
    })
    const left = readdirSync(tmp)
    rmSync(tmp, { recursive: true, force: true })
    expect(run.stderr).not.toContain("demo failed")
    expect(run.status).toBe(0)
    const out = run.stdout
    expect(out).toMatch(/listening at http:\/\/127\.0\.0\.1:\d+/)
    expect(out).toMatch(/initialize answered in \d+ ms by nextcloud-mcp/)
    expect(out).toContain("nc_auth_provision_access")
    expect(out).toContain("✓ status: login_required")
    expect(out).toMatch(/http:\/\/127\.0\.0\.1:\d+\/index\.php\/login\/v2\/flow\/[0-9A-Za-z]{128}/)
    expect(out).toContain('✓ browser: alice logged in and clicked "Grant access"')
    expect(out).toContain("✓ status: provisioned")
    expect(out).toContain('scopes: ["calendar.write","notes.read","notes.write","todo.write"]')
    expect(out).toContain('new_scopes: ["calendar.write","notes.read","todo.write"]')
    expect(out).toContain('start: "2026-12-24T18:00:00+01:00"')
    expect(out).toContain('timezone: "Europe/Berlin"')
    expect(out).toContain('due: "2026-12-20"')
    expect(out).toContain("✓ status: revoked")
    expect(out).toContain("remote_revoked: true")
    expect(out).toMatch(/app password ".*" of alice is revoked \(alive: false\)/)
    // http mode: the simulator's issuer minted the bearer token a Streamable HTTP client used.
    expect(out).toMatch(/✓ listening; MCP at http:\/\/127\.0\.0\.1:\d+\/mcp/)
    expect(out).toMatch(/✓ token minted by http:\/\/127\.0\.0\.1:\d+\/__sim\/oidc\/token for alice/)
    expect(out).toMatch(/✓ tools\/list with the bearer token: \d+ tools/)
    expect(out).toContain('✓ nc_auth_check_status for alice: status "not_initiated"')
    expect(out).toContain("✓ Demo complete")
    // Step order as printed.
    const order = ["login_required", "status: provisioned", "status: updated", "status: revoked"].map((s) => out.indexOf(s))
    expect(order).toEqual([...order].sort((a, b) => a - b))
    // The temporary database folder is gone.
    expect(left.filter((name) => name.startsWith("nextcloud-mcp-demo-"))).toEqual([])
  }, 60_000)
})
