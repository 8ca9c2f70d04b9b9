/**
 * Key rotation as an operator does it: provision through the real server over
 * stdio (key generated into `<db>.key`), stop it, run `rotate-key` with a new
 * key and the old one as previous, restart with only the new key: the user is
 * still provisioned and the app password still works. Also, in process
 * (the in-process server and the command's program): a server with only a
 * key that cannot decrypt the grant asks the user to provision again, values
 * no key decrypts are listed and left, and malformed previous keys are
 * configuration errors naming the variable.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { runRotateKey } from "../../src/commands/rotateKey.js"
import { runStdio } from "../../src/commands/stdio.js"
import { runCommandInProcess } from "../support/commandInProcess.js"
import { useHarness } from "../support/inProcess.js"
import { MAIN, type StdioSession, startStdio, tempDir } from "../support/stdioServer.js"
import { type SimulatorWithApps, startSimulatorWithApps } from "../support/simulator.js"

let sim: SimulatorWithApps
let tmp: ReturnType<typeof tempDir>
let session: StdioSession | undefined

const db = () => `${tmp.dir}/state.db`

const env = (extra: Record<string, string> = {}) => ({
  NEXTCLOUD_HOST: sim.url,
  NC_MCP_DB: db(),
  NC_MCP_USER: "alice-local",
  NC_MCP_POLL_INTERVAL_SECONDS: "3600",
  ...extra
})

const runCli = (args: ReadonlyArray<string>, extra: Record<string, string>) =>
  spawnSync(process.execPath, [MAIN, ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", NC_MCP_DB: db(), ...extra },
    timeout: 30_000
  })

const newKey = () => randomBytes(32).toString("base64")

const rotateInProcess = (env: Record<string, string>) => runCommandInProcess(runRotateKey, env)

const harness = useHarness()

beforeEach(async () => {
  sim = await startSimulatorWithApps()
  tmp = tempDir("ncmcp-rotate-")
})
afterEach(async () => {
  await session?.close()
  session = undefined
  await sim.close()
  tmp.cleanup()
})

/** Provision alice-local through the server, then stop it; returns the generated key. */
const provisionAndStop = async (): Promise<string> => {
  session = await startStdio({ env: env() })
  const started = await session.call("nc_auth_provision_access", { scopes: ["notes.read"] })
  expect(started.structuredContent.status).toBe("login_required")
  await sim.grant({ flow: started.structuredContent.login_url, userId: "alice" })
  expect((await session.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
  await session.close()
  session = undefined
  return readFileSync(`${db()}.key`, "utf8").trim()
}

describe("rotate-key", () => {
  it("re-encrypts with the new key; the server then runs with only the new key and the user stays provisioned", async () => {
    const oldKey = await provisionAndStop()
    const key = newKey()

    const rotated = runCli(["rotate-key"], { NC_MCP_ENCRYPTION_KEY: key, NC_MCP_PREVIOUS_ENCRYPTION_KEYS: oldKey })
    expect(rotated.stderr).not.toContain("error")
    expect(rotated.status).toBe(0)
    expect(rotated.stdout).toContain("Re-encrypted 1 stored secret with the current key (NC_MCP_ENCRYPTION_KEY)")
    expect(rotated.stdout).toContain("previous keys (NC_MCP_PREVIOUS_ENCRYPTION_KEYS) can now be removed")
    for (const text of [rotated.stdout, rotated.stderr]) {
      expect(text).not.toContain(key)
      expect(text).not.toContain(oldKey)
    }

    // Running it again finds nothing left to do.
    const again = runCli(["rotate-key"], { NC_MCP_ENCRYPTION_KEY: key })
    expect(again.status).toBe(0)
    expect(again.stdout).toContain("Re-encrypted 0 stored secrets with the current key (NC_MCP_ENCRYPTION_KEY); 1 was already encrypted with it.")

    session = await startStdio({ env: env({ NC_MCP_ENCRYPTION_KEY: key }) })
    const status = await session.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({ status: "provisioned", username: "alice", scopes: ["notes.read"] })
    // The decrypted app password is the one Nextcloud issued.
    const notes = await session.call("nc_notes_list")
    expect(notes.isError ?? false).toBe(false)
    expect(notes.structuredContent.success).toBe(true)
  })

  it("a database that does not exist is an error, not a new empty one", async () => {
    const run = await rotateInProcess({ NC_MCP_DB: db(), NC_MCP_ENCRYPTION_KEY: newKey() })
    expect(run.failure).toMatch(/^nextcloud-mcp: [^\n]*NC_MCP_DB[^\n]*\n$/)
  })
})

/**
 * The same command and servers in the test's process (the server with the
 * in-process harness, on its SQLite file and key; rotate-key run as its
 * program with only the given settings): what the process form above would
 * only repeat.
 */
describe("rotate-key, in process", () => {
  /** alice-local provisioned through the in-process server, which keeps running. */
  const provisioned = async () => {
    const h = await harness.start({ user: "alice-local" })
    await h.provision(["notes.read"], "alice")
    return { h, oldKey: Buffer.from(h.database.key).toString("base64") }
  }

  it("after rotating, a server with only the old key asks the user to provision again instead of failing", async () => {
    const { h, oldKey } = await provisioned()
    const rotated = await rotateInProcess({ NC_MCP_DB: h.database.file, NC_MCP_ENCRYPTION_KEY: newKey(), NC_MCP_PREVIOUS_ENCRYPTION_KEYS: oldKey })
    expect(rotated.failure).toBeUndefined()
    expect(rotated.stdout.join("\n")).toContain("Re-encrypted 1 stored secret")

    // Restarted with the old key, which cannot decrypt the re-encrypted grant.
    await h.restart()
    const notes = await h.call("nc_notes_list")
    expect(notes.structuredContent).toMatchObject({ success: false, error_code: "ProvisioningRequired" })
    expect((await h.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
    expect(h.logs()).toContain("cannot be decrypted")
    expect(h.logs()).toContain("alice-local")
    // Provisioning again works and replaces the unreadable grant.
    await h.provision(["notes.read"], "alice")
    expect((await h.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
  })

  it("values no configured key decrypts: listed, left in place, exit 1 naming how many, and the old keys are not declared removable", async () => {
    const { h } = await provisioned()
    // The previous key given is not the one that encrypted the grant: nothing can be decrypted.
    const rotated = await rotateInProcess({ NC_MCP_DB: h.database.file, NC_MCP_ENCRYPTION_KEY: newKey(), NC_MCP_PREVIOUS_ENCRYPTION_KEYS: newKey() })
    const stdout = rotated.stdout.join("\n")
    expect(stdout).toContain("1 stored secret could not be decrypted with any configured key and was left untouched")
    expect(stdout).toContain('app password of user "alice-local"')
    expect(stdout).not.toContain("can now be removed")
    expect(rotated.failure).toMatch(/^nextcloud-mcp: 1 stored secret is not opened by any configured key[^\n]*NC_MCP_PREVIOUS_ENCRYPTION_KEYS[^\n]*\n$/)
    // Still there for the key that made it.
    await h.restart()
    expect((await h.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
  })
})

describe("NC_MCP_PREVIOUS_ENCRYPTION_KEYS errors", () => {
  it("a malformed previous key: exit 1, one line naming the variable and the entry, no key text", async () => {
    const good = newKey()
    const settings = { NEXTCLOUD_HOST: sim.url, NC_MCP_DB: db(), NC_MCP_ENCRYPTION_KEY: newKey(), NC_MCP_PREVIOUS_ENCRYPTION_KEYS: `${good},not-a-key!` }
    // As a process once (exit code, one line on stderr), then rotate-key and stdio in process.
    const run = runCli(["rotate-key"], settings)
    expect(run.status).toBe(1)
    const lines = run.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("NC_MCP_PREVIOUS_ENCRYPTION_KEYS entry 2")
    for (const program of [runRotateKey, runStdio]) {
      const line = (await runCommandInProcess(program, settings)).failure
      expect(line).toMatch(/^nextcloud-mcp: [^\n]*NC_MCP_PREVIOUS_ENCRYPTION_KEYS entry 2[^\n]*\n$/)
      expect(line).not.toContain(good)
      expect(line).not.toContain("not-a-key!")
    }
    expect(run.stderr).not.toContain(good)
    expect(run.stderr).not.toContain("not-a-key!")
    const short = await rotateInProcess({ NC_MCP_DB: db(), NC_MCP_ENCRYPTION_KEY: newKey(), NC_MCP_PREVIOUS_ENCRYPTION_KEYS: randomBytes(16).toString("base64") })
    expect(short.failure).toMatch(/^nextcloud-mcp: [^\n]*NC_MCP_PREVIOUS_ENCRYPTION_KEYS must decode to exactly 32 bytes, got 16[^\n]*\n$/)
  })
})
