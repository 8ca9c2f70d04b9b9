/**
 * The Files tools end to end in process: the real MCP server and adapter over
 * InMemoryTransport, the WebDAV client, and the simulated WebDAV.
 */
import { describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed } from "../../support/results.js"

const harness = useHarness({ user: "ada-local" })

const UID = "ada-5c7e"

const ok = (r: ToolResult) => {
  expect(r.isError ?? false, JSON.stringify(r.structuredContent)).toBe(false)
  return r.structuredContent
}

interface Entry {
  readonly name: string
  readonly path: string
  readonly type: string
  readonly size: number | null
  readonly etag: string | null
}

describe("files tools", () => {
  it("answers ProvisioningRequired before provisioning", async () => {
    const h = await harness.start()
    failed(await h.call("nc_files_list"), "ProvisioningRequired")
    failed(await h.call("nc_files_read", { path: "a.txt" }), "ProvisioningRequired")
  })

  it("mkdir → write → list → read → write with if_match → conflict → move → delete (uid ≠ login name)", async () => {
    const h = await harness.start()
    await h.provision(["files.read", "files.write"])

    expect(ok(await h.call("nc_files_mkdir", { path: "Projects/2024", parents: true })).status).toBe("created")
    expect(ok(await h.call("nc_files_mkdir", { path: "Projects" })).status).toBe("exists")
    failed(await h.call("nc_files_mkdir", { path: "Nope/deeper" }), "NotFound")

    const written = ok(await h.call("nc_files_write", { path: "/Projects/2024/plan é.md", content: "# Plan\nstep 1\n" }))
    expect(written).toMatchObject({ status: "created", path: "/Projects/2024/plan é.md", size: 14 })
    expect((await h.sim.readFile({ userId: UID, path: "Projects/2024/plan é.md" })).content).toBe("# Plan\nstep 1\n")

    const listed = ok(await h.call("nc_files_list", { path: "Projects/2024" }))
    const entries = listed["entries"] as Array<Entry>
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ name: "plan é.md", path: "/Projects/2024/plan é.md", type: "file", size: 14 })
    const root = ok(await h.call("nc_files_list"))
    expect((root["entries"] as Array<Entry>).map((e) => [e.name, e.type])).toEqual([["Projects", "directory"]])

    const read = ok(await h.call("nc_files_read", { path: "Projects/2024/plan é.md" }))
    expect(read["content"]).toBe("# Plan\nstep 1\n")
    const etag = read["etag"] as string
    expect(etag).toBe(entries[0]?.etag)

    const updated = ok(await h.call("nc_files_write", { path: "Projects/2024/plan é.md", content: "v2", if_match: etag }))
    expect(updated.status).toBe("updated")
    const conflict = failed(
      await h.call("nc_files_write", { path: "Projects/2024/plan é.md", content: "stale", if_match: etag }),
      "Conflict"
    )
    expect(conflict.message).toContain("changed")
    expect((await h.sim.readFile({ userId: UID, path: "Projects/2024/plan é.md" })).content).toBe("v2")
    failed(await h.call("nc_files_write", { path: "Projects/2024/plan é.md", content: "x", overwrite: false }), "Conflict")

    ok(await h.call("nc_files_write", { path: "other.txt", content: "o" }))
    failed(await h.call("nc_files_move", { from: "other.txt", to: "Projects/2024/plan é.md" }), "Conflict")
    const moved = ok(await h.call("nc_files_move", { from: "Projects/2024/plan é.md", to: "Projects/plan.md" }))
    expect(moved).toMatchObject({ status: "moved", overwritten: false })
    failed(await h.call("nc_files_move", { from: "Projects", to: "Projects/inside" }), "InvalidArguments")

    expect(ok(await h.call("nc_files_delete", { path: "Projects" })).status).toBe("deleted")
    failed(await h.call("nc_files_delete", { path: "Projects" }), "NotFound")
    failed(await h.call("nc_files_delete", { path: "/" }), "InvalidArguments")
    expect((await h.sim.listFiles(UID)).map((f) => f.path)).toEqual(["/other.txt"])
  })

  it("refuses traversal, encoded traversal, backslashes and URLs before calling Nextcloud", async () => {
    const h = await harness.start()
    await h.provision(["files.read", "files.write"])
    await h.sim.resetCounters()
    for (const path of ["../alice/secret.txt", "a/../../alice", "https://evil.example/x", "a\u0000b"]) {
      failed(await h.call("nc_files_read", { path }), "InvalidArguments")
      failed(await h.call("nc_files_write", { path, content: "x" }), "InvalidArguments")
    }
    const counters = await h.sim.counters()
    expect(Object.keys(counters.requests).filter((k) => k.startsWith("dav."))).toEqual([])
  })

  it("a 10 MB file is refused by nc_files_read with a clear message; binary files too", async () => {
    const h = await harness.start()
    await h.provision(["files.read"])
    await h.sim.seedFile({ userId: UID, path: "big.log", size: 10 * 1024 * 1024 })
    await h.sim.seedFile({ userId: UID, path: "photo.png", base64: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]).toString("base64") })
    await h.sim.resetCounters()
    const big = failed(await h.call("nc_files_read", { path: "big.log" }), "FileTooLarge")
    expect(big.message).toContain("10.0 MiB")
    expect(big.message).toContain("1.0 MiB")
    expect((await h.sim.counters()).requests["dav.get"]).toBeUndefined()
    const photo = ok(await h.call("nc_files_read", { path: "photo.png" }))
    expect(photo).toMatchObject({ encoding: "base64", content_base64: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]).toString("base64"), size: 7 })
    failed(await h.call("nc_files_read", { path: "photo.png", encoding: "text" }), "NotTextFile")
    failed(await h.call("nc_files_read", { path: "/" }), "InvalidArguments")
    failed(await h.call("nc_files_read", { path: "missing.txt" }), "NotFound")
  })

  it("learns the Nextcloud user id once when it was not known at login; quota and locks are reported", async () => {
    const h = await harness.start()
    // The user-id lookup at completion fails, so the grant starts without it.
    await h.sim.injectFault({ target: "ocs.user", fault: Fault.status(503), times: 3 })
    await h.provision(["files.read", "files.write"])
    await h.sim.resetCounters()
    ok(await h.call("nc_files_list"))
    ok(await h.call("nc_files_list"))
    expect((await h.sim.counters()).requests["ocs.user"]).toBe(1)

    await h.sim.setQuota({ userId: UID, bytes: 4 })
    failed(await h.call("nc_files_write", { path: "q.txt", content: "too long" }), "QuotaExceeded")
    await h.sim.setQuota({ userId: UID, bytes: null })
    await h.sim.seedFolder({ userId: UID, path: "busy" })
    await h.sim.lockPath({ userId: UID, path: "busy" })
    failed(await h.call("nc_files_write", { path: "busy/x.txt", content: "x" }), "Locked")
  })

  it("a password revoked in Settings is detected on a files call", async () => {
    const h = await harness.start()
    const password = await h.provision(["files.read"])
    await h.sim.revokeAppPassword(password)
    failed(await h.call("nc_files_list"), "ProvisioningRequired")
    expect((await h.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
  })
})
