import { describe, expect, it } from "vitest"
import { Fault } from "../../src/simulator/index.js"
import { type StdioSession, useStdioFixture, type ToolResult } from "../support/stdioServer.js"

const fx = useStdioFixture("ada-local")
let session: StdioSession | undefined

const UID = "ada-5c7e"

const provision = async (s: StdioSession, scopes: Array<string>) => {
  const started = await s.call("nc_auth_provision_access", { scopes })
  const granted = await fx.sim.grant({ flow: started.structuredContent.login_url, userId: UID })
  expect((await s.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
  return granted.appPassword
}

const ok = (r: ToolResult) => {
  expect(r.isError ?? false, JSON.stringify(r.structuredContent)).toBe(false)
  return r.structuredContent
}

const failed = (r: ToolResult, code: string) => {
  expect(r.isError, JSON.stringify(r.structuredContent)).toBe(true)
  expect(r.structuredContent).toMatchObject({ success: false, error_code: code })
  return r.structuredContent
}

interface Entry {
  readonly name: string
  readonly path: string
  readonly type: string
  readonly size: number | null
  readonly etag: string | null
}

describe("files tools over stdio", () => {
  it("answers ProvisioningRequired before provisioning", async () => {
    session = await fx.start()
    failed(await session.call("nc_files_list"), "ProvisioningRequired")
    failed(await session.call("nc_files_read", { path: "a.txt" }), "ProvisioningRequired")
  })

  it("mkdir → write → list → read → write with if_match → conflict → move → delete (uid ≠ login name)", async () => {
    session = await fx.start()
    await provision(session, ["files.read", "files.write"])

    expect(ok(await session.call("nc_files_mkdir", { path: "Projects/2024", parents: true })).status).toBe("created")
    expect(ok(await session.call("nc_files_mkdir", { path: "Projects" })).status).toBe("exists")
    failed(await session.call("nc_files_mkdir", { path: "Nope/deeper" }), "NotFound")

    const written = ok(await session.call("nc_files_write", { path: "/Projects/2024/plan é.md", content: "# Plan\nstep 1\n" }))
    expect(written).toMatchObject({ status: "created", path: "/Projects/2024/plan é.md", size: 14 })
    expect((await fx.sim.readFile({ userId: UID, path: "Projects/2024/plan é.md" })).content).toBe("# Plan\nstep 1\n")

    const listed = ok(await session.call("nc_files_list", { path: "Projects/2024" }))
    const entries = listed["entries"] as Array<Entry>
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ name: "plan é.md", path: "/Projects/2024/plan é.md", type: "file", size: 14 })
    const root = ok(await session.call("nc_files_list"))
    expect((root["entries"] as Array<Entry>).map((e) => [e.name, e.type])).toEqual([["Projects", "directory"]])

    const read = ok(await session.call("nc_files_read", { path: "Projects/2024/plan é.md" }))
    expect(read["content"]).toBe("# Plan\nstep 1\n")
    const etag = read["etag"] as string
    expect(etag).toBe(entries[0]?.etag)

    const updated = ok(await session.call("nc_files_write", { path: "Projects/2024/plan é.md", content: "v2", if_match: etag }))
    expect(updated.status).toBe("updated")
    const conflict = failed(
      await session.call("nc_files_write", { path: "Projects/2024/plan é.md", content: "stale", if_match: etag }),
      "Conflict"
    )
    expect(conflict.message).toContain("changed")
    expect((await fx.sim.readFile({ userId: UID, path: "Projects/2024/plan é.md" })).content).toBe("v2")
    failed(await session.call("nc_files_write", { path: "Projects/2024/plan é.md", content: "x", overwrite: false }), "Conflict")

    ok(await session.call("nc_files_write", { path: "other.txt", content: "o" }))
    failed(await session.call("nc_files_move", { from: "other.txt", to: "Projects/2024/plan é.md" }), "Conflict")
    const moved = ok(await session.call("nc_files_move", { from: "Projects/2024/plan é.md", to: "Projects/plan.md" }))
    expect(moved).toMatchObject({ status: "moved", overwritten: false })
    failed(await session.call("nc_files_move", { from: "Projects", to: "Projects/inside" }), "InvalidArguments")

    expect(ok(await session.call("nc_files_delete", { path: "Projects" })).status).toBe("deleted")
    failed(await session.call("nc_files_delete", { path: "Projects" }), "NotFound")
    failed(await session.call("nc_files_delete", { path: "/" }), "InvalidArguments")
    expect((await fx.sim.listFiles(UID)).map((f) => f.path)).toEqual(["/other.txt"])
  })

  it("refuses traversal, encoded traversal, backslashes and URLs before calling Nextcloud", async () => {
    session = await fx.start()
    await provision(session, ["files.read", "files.write"])
    await fx.sim.resetCounters()
    for (const path of ["../alice/secret.txt", "a/%2e%2e/%2e%2e/alice", "..\\alice", "https://evil.example/x", "a\u0000b"]) {
      failed(await session.call("nc_files_read", { path }), "InvalidArguments")
      failed(await session.call("nc_files_write", { path, content: "x" }), "InvalidArguments")
    }
    const counters = await fx.sim.counters()
    expect(Object.keys(counters.requests).filter((k) => k.startsWith("dav."))).toEqual([])
  })

  it("a 10 MB file is refused by nc_files_read with a clear message; binary files too", async () => {
    session = await fx.start()
    await provision(session, ["files.read"])
    await fx.sim.seedFile({ userId: UID, path: "big.log", size: 10 * 1024 * 1024 })
    await fx.sim.seedFile({ userId: UID, path: "photo.png", base64: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]).toString("base64") })
    await fx.sim.resetCounters()
    const big = failed(await session.call("nc_files_read", { path: "big.log" }), "FileTooLarge")
    expect(big.message).toContain("10.0 MiB")
    expect(big.message).toContain("1.0 MiB")
    expect((await fx.sim.counters()).requests["dav.get"]).toBeUndefined()
    failed(await session.call("nc_files_read", { path: "photo.png" }), "NotTextFile")
    failed(await session.call("nc_files_read", { path: "/" }), "InvalidArguments")
    failed(await session.call("nc_files_read", { path: "missing.txt" }), "NotFound")
  })

  it("learns the Nextcloud user id once when it was not known at login; quota and locks are reported", async () => {
    session = await fx.start()
    // The user-id lookup at completion fails, so the grant starts without it.
    await fx.sim.injectFault({ target: "ocs.user", fault: Fault.status(503), times: 3 })
    await provision(session, ["files.read", "files.write"])
    await fx.sim.resetCounters()
    ok(await session.call("nc_files_list"))
    ok(await session.call("nc_files_list"))
    expect((await fx.sim.counters()).requests["ocs.user"]).toBe(1)

    await fx.sim.setQuota({ userId: UID, bytes: 4 })
    failed(await session.call("nc_files_write", { path: "q.txt", content: "too long" }), "QuotaExceeded")
    await fx.sim.setQuota({ userId: UID, bytes: null })
    await fx.sim.seedFolder({ userId: UID, path: "busy" })
    await fx.sim.lockPath({ userId: UID, path: "busy" })
    failed(await session.call("nc_files_write", { path: "busy/x.txt", content: "x" }), "Locked")
  })

  it("a password revoked in Settings is detected on a files call", async () => {
    session = await fx.start()
    const password = await provision(session, ["files.read"])
    await fx.sim.revokeAppPassword(password)
    failed(await session.call("nc_files_list"), "ProvisioningRequired")
    expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
  })
})
