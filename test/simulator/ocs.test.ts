import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type PromiseSimulator, startSimulator } from "../../src/simulator/index.js"
import { basic, initFlow, ocs, ocsJson, pollForm } from "./helpers.js"

/** Run a full flow and return the credentials the client would get. */
const provision = async (sim: PromiseSimulator, userId: string, loginName?: string) => {
  const flow = await initFlow(sim.url)
  await sim.grant({ flow: flow.login, userId, loginName })
  const body = (await (await pollForm(flow.poll.endpoint, flow.poll.token)).json()) as {
    loginName: string
    appPassword: string
  }
  return body
}

describe("OCS", () => {
  let sim: PromiseSimulator
  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(() => sim.close())

  it("cloud/user returns the uid when the login name differs from it", async () => {
    const creds = await provision(sim, "ada-5c7e")
    expect(creds.loginName).toBe("ada@example.org")
    const response = await ocs(sim.url, "/cloud/user", { authorization: basic(creds.loginName, creds.appPassword) })
    expect(response.status).toBe(200)
    const body = await ocsJson<Record<string, unknown>>(response)
    expect(body.ocs.meta).toMatchObject({ status: "ok", statuscode: 200 })
    expect(body.ocs.data).toMatchObject({ id: "ada-5c7e", displayname: "Ada Lovelace", email: "ada@example.org" })
  })

  it("compares the Basic user name with the login name case-insensitively", async () => {
    const creds = await provision(sim, "alice", "Alice")
    for (const name of ["Alice", "alice", "ALICE"]) {
      const response = await ocs(sim.url, "/cloud/user", { authorization: basic(name, creds.appPassword) })
      expect(response.status).toBe(200)
    }
    const wrongName = await ocs(sim.url, "/cloud/user", { authorization: basic("bob", creds.appPassword) })
    expect(wrongName.status).toBe(401)
  })

  it("selects JSON with Accept: application/json, XML by default", async () => {
    const creds = await provision(sim, "alice")
    const viaAccept = await fetch(`${sim.url}/ocs/v2.php/cloud/user`, {
      headers: { "OCS-APIRequest": "true", Accept: "application/json", Authorization: basic("alice", creds.appPassword) }
    })
    expect((await ocsJson<{ id: string }>(viaAccept)).ocs.data.id).toBe("alice")
    const xml = await ocs(sim.url, "/cloud/user", { authorization: basic("alice", creds.appPassword), format: "none" })
    expect(xml.headers.get("content-type")).toContain("xml")
    expect(await xml.text()).toContain("<id>alice</id>")
  })

  it("accepts the dashed Settings format", async () => {
    const created = await sim.createAppPassword({ userId: "alice", format: "dashed" })
    const response = await ocs(sim.url, "/cloud/user", { authorization: basic("alice", created.password) })
    expect(response.status).toBe(200)
  })

  it("412 CSRF check failed without OCS-APIRequest", async () => {
    const creds = await provision(sim, "alice")
    const response = await ocs(sim.url, "/cloud/user", { authorization: basic("alice", creds.appPassword), ocsApiRequest: false })
    expect(response.status).toBe(412)
    expect(await response.json()).toEqual({ message: "CSRF check failed" })
  })

  it("bad credentials: 401 with WWW-Authenticate and statuscode 997; no credentials: 401 997", async () => {
    const bad = await ocs(sim.url, "/cloud/user", { authorization: basic("alice", "not-a-password") })
    expect(bad.status).toBe(401)
    expect(bad.headers.get("www-authenticate")).toBe('Basic realm="Authorisation Required"')
    expect((await ocsJson(bad)).ocs.meta).toMatchObject({ status: "failure", statuscode: 997 })
    const none = await ocs(sim.url, "/cloud/user")
    expect(none.status).toBe(401)
    expect((await ocsJson(none)).ocs.meta.statuscode).toBe(997)
  })

  it("a password revoked in Settings gets 401 + 997 afterwards", async () => {
    const creds = await provision(sim, "alice")
    const auth = basic("alice", creds.appPassword)
    expect((await ocs(sim.url, "/cloud/user", { authorization: auth })).status).toBe(200)
    await sim.revokeAppPassword(creds.appPassword)
    const after = await ocs(sim.url, "/cloud/user", { authorization: auth })
    expect(after.status).toBe(401)
    expect((await ocsJson(after)).ocs.meta.statuscode).toBe(997)
    expect(await sim.appPasswordStatus(creds.appPassword)).toBe("revoked")
    const listed = (await sim.listAppPasswords("alice")).find((p) => p.password === creds.appPassword)
    expect(listed).toMatchObject({ alive: false })
  })

  it("DELETE core/apppassword kills the password in use; later calls 401", async () => {
    const creds = await provision(sim, "ada-5c7e")
    const auth = basic("ada@example.org", creds.appPassword)
    const deleted = await ocs(sim.url, "/core/apppassword", { method: "DELETE", authorization: auth })
    expect(deleted.status).toBe(200)
    expect((await ocsJson(deleted)).ocs.data).toEqual([])
    expect((await ocs(sim.url, "/cloud/user", { authorization: auth })).status).toBe(401)
    expect((await ocs(sim.url, "/core/apppassword", { method: "DELETE", authorization: auth })).status).toBe(401)
  })

  it("DELETE core/apppassword with the real login password is 403", async () => {
    const response = await ocs(sim.url, "/core/apppassword", { method: "DELETE", authorization: basic("alice", "alice-password") })
    expect(response.status).toBe(403)
    expect((await ocsJson(response)).ocs.meta.statuscode).toBe(403)
  })

  it("rotate returns a new 72-character value; the old one dies, the device entry stays", async () => {
    const creds = await provision(sim, "alice")
    const rotated = await ocs(sim.url, "/core/apppassword/rotate", { method: "POST", authorization: basic("alice", creds.appPassword) })
    expect(rotated.status).toBe(200)
    const fresh = (await ocsJson<{ apppassword: string }>(rotated)).ocs.data.apppassword
    expect(fresh).toMatch(/^[0-9A-Za-z]{72}$/)
    expect((await ocs(sim.url, "/cloud/user", { authorization: basic("alice", creds.appPassword) })).status).toBe(401)
    expect((await ocs(sim.url, "/cloud/user", { authorization: basic("alice", fresh) })).status).toBe(200)
    expect(await sim.appPasswordStatus(creds.appPassword)).toBe("rotated")
    const entry = (await sim.listAppPasswords("alice")).find((p) => p.password === fresh)
    expect(entry).toMatchObject({ alive: true, rotations: 1 })
  })

  it("getapppassword: 403 with an app password, a new 72-character password with the real one", async () => {
    const creds = await provision(sim, "alice")
    const refused = await ocs(sim.url, "/core/getapppassword", { authorization: basic("alice", creds.appPassword) })
    expect(refused.status).toBe(403)
    const converted = await ocs(sim.url, "/core/getapppassword", {
      authorization: basic("alice", "alice-password"),
      userAgent: "Converter"
    })
    expect(converted.status).toBe(200)
    const apppassword = (await ocsJson<{ apppassword: string }>(converted)).ocs.data.apppassword
    expect(apppassword).toMatch(/^[0-9A-Za-z]{72}$/)
    expect((await sim.listAppPasswords("alice")).find((p) => p.password === apppassword)?.name).toBe("Converter")
  })

  it("accepts an app password as Bearer token without the login-name check", async () => {
    const creds = await provision(sim, "ada-5c7e")
    const response = await fetch(`${sim.url}/ocs/v2.php/cloud/user?format=json`, {
      headers: { Authorization: `Bearer ${creds.appPassword}` }
    })
    expect(response.status).toBe(200)
  })

  it("unknown OCS routes are 404 with statuscode 998", async () => {
    const response = await ocs(sim.url, "/apps/nope")
    expect(response.status).toBe(404)
    expect((await ocsJson(response)).ocs.meta.statuscode).toBe(998)
  })

  it("users added at runtime can be granted as", async () => {
    await sim.addUser({ userId: "7f3c", loginName: "grace@example.org", displayName: "Grace Hopper" })
    const creds = await provision(sim, "7f3c")
    const response = await ocs(sim.url, "/cloud/user", { authorization: basic("Grace@Example.org", creds.appPassword) })
    expect((await ocsJson<{ id: string }>(response)).ocs.data.id).toBe("7f3c")
    await expect(sim.addUser({ userId: "7f3c" })).rejects.toMatchObject({ reason: "UserExists" })
  })
})

describe("brute-force model", () => {
  it("is off by default", async () => {
    const sim = await startSimulator()
    try {
      for (let i = 0; i < 12; i++) await ocs(sim.url, "/cloud/user", { authorization: basic("alice", "wrong") })
      expect((await ocs(sim.url, "/cloud/user", { authorization: basic("alice", "alice-password") })).status).toBe(200)
    } finally {
      await sim.close()
    }
  })

  it("answers 429 once an IP reached the maximum of failed attempts", async () => {
    const sim = await startSimulator({ bruteForce: { maxAttempts: 3 } })
    try {
      for (let i = 0; i < 3; i++) {
        expect((await ocs(sim.url, "/cloud/user", { authorization: basic("alice", "wrong") })).status).toBe(401)
      }
      const throttled = await ocs(sim.url, "/cloud/user", { authorization: basic("alice", "alice-password") })
      expect(throttled.status).toBe(429)
      await sim.resetBruteForce()
      expect((await ocs(sim.url, "/cloud/user", { authorization: basic("alice", "alice-password") })).status).toBe(200)
    } finally {
      await sim.close()
    }
  })
})
