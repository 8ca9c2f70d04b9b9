/**
 * `nextcloud-mcp simulate --disable-apps`: the simulated Nextcloud started
 * with some apps disabled for every user leaves them out of the user's
 * navigation and capabilities, as a Nextcloud without them would.
 */
import { spawn } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import { MAIN } from "../support/stdioServer.js"

let stop: (() => void) | undefined
afterEach(() => {
  stop?.()
  stop = undefined
})

/** Starts `simulate` with `args`; resolves with its URL once it logs that it listens. */
const simulate = (args: ReadonlyArray<string>) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, "simulate", "--port", "0", ...args], {
      env: { PATH: process.env["PATH"] ?? "" },
      stdio: ["ignore", "ignore", "pipe"]
    })
    stop = () => child.kill("SIGTERM")
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1]
      if (url !== undefined) resolve(url)
    })
    child.on("close", (code) => reject(new Error(`simulate exited with ${code}: ${stderr}`)))
  })

const ocs = async (url: string, path: string, password: string) => {
  const response = await fetch(`${url}${path}?format=json`, {
    headers: { "OCS-APIRequest": "true", authorization: `Basic ${Buffer.from(`alice:${password}`).toString("base64")}` }
  })
  expect(response.status).toBe(200)
  return ((await response.json()) as { ocs: { data: unknown } }).ocs.data
}

describe("simulate --disable-apps", () => {
  it("leaves the disabled apps out of the navigation and the capabilities", async () => {
    const url = await simulate(["--disable-apps", "news, cookbook"])
    const created = await fetch(`${url}/__sim/app-passwords`, { method: "POST", body: JSON.stringify({ userId: "alice" }) })
    const { password } = (await created.json()) as { password: string }

    const navigation = (await ocs(url, "/ocs/v2.php/core/navigation/apps", password)) as ReadonlyArray<{ id: string }>
    const ids = navigation.map((entry) => entry.id)
    expect(ids).toContain("deck")
    expect(ids).toContain("notes")
    expect(ids).not.toContain("news")
    expect(ids).not.toContain("cookbook")

    const capabilities = (await ocs(url, "/ocs/v2.php/cloud/capabilities", password)) as { capabilities: Record<string, unknown> }
    expect(Object.keys(capabilities.capabilities)).toContain("files_sharing")
  })
})
