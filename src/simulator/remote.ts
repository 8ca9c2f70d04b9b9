/**
 * A client for the `/__sim` hooks of a simulator running in another process
 * (e.g. `nextcloud-mcp simulate`). Same shape as the Promise API of
 * `startSimulator`, minus `close`; pass the apps that simulator mounts for
 * their hooks too. Hook failures reject with a `SimulatorHookError` carrying
 * the server's reason.
 */
import type { AppPasswordStatus } from "./accounts.js"
import type { SimulatorControl } from "./control.js"
import type { FaultSpec } from "./faultSpecs.js"
import type { Promisified } from "./promisify.js"
import type { AnySimulatorApp, ControlOfApps, HookCall } from "./SimulatorApp.js"
import { SimulatorHookError, type SimulatorHookErrorReason } from "./state.js"

export type RemoteSimulator<Control = unknown> = Promisified<SimulatorControl & Control> & { readonly url: string }

const REASONS: ReadonlyArray<SimulatorHookErrorReason> = [
  "UnknownFlow",
  "FlowExpired",
  "FlowNotPending",
  "ClientNotAllowed",
  "UnknownUser",
  "UserExists",
  "InvalidAppPassword",
  "UnknownAppPassword",
  "UnknownFault",
  "UnknownPath",
  "InvalidRequest"
]

export const connectSimulator = <const Apps extends ReadonlyArray<AnySimulatorApp> = readonly []>(
  simulatorUrl: string,
  options: { readonly apps?: Apps } = {}
): RemoteSimulator<ControlOfApps<Apps>> => {
  const url = simulatorUrl.replace(/\/+$/, "")
  const call: HookCall = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
    const response = await fetch(`${url}/__sim${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
    })
    const json = (await response.json()) as Record<string, unknown>
    if (response.ok) return json as A
    const reason = REASONS.find((r) => r === json["error"]) ?? "InvalidRequest"
    return Promise.reject(new SimulatorHookError({ reason, message: String(json["message"] ?? response.statusText) }))
  }
  const done = (): void => undefined
  const core: Promisified<SimulatorControl> = {
    grant: (input) => call("POST", "/flows/grant", input),
    grantWithAppPassword: (input) => call("POST", "/flows/grant-with-app-password", input),
    deny: (flow) => call("POST", "/flows/deny", { flow }).then(done),
    listFlows: () => call("GET", "/flows"),
    addUser: (user) => call("POST", "/users", user),
    listUsers: () => call("GET", "/users"),
    createAppPassword: (input) => call("POST", "/app-passwords", input),
    revokeAppPassword: (appPassword) => call("POST", "/app-passwords/revoke", { appPassword }).then(done),
    listAppPasswords: (userId) => call("GET", `/users/${encodeURIComponent(userId)}/app-passwords`),
    appPasswordStatus: (appPassword) =>
      call<{ status: AppPasswordStatus }>("POST", "/app-passwords/status", { appPassword }).then((r) => r.status),
    advanceClock: (millis) => call("POST", "/clock/advance", { millis }).then(done),
    now: () => call<{ now: number }>("GET", "/clock").then((r) => r.now),
    injectFault: (spec: FaultSpec) => call<{ id: string }>("POST", "/faults", spec).then((r) => r.id),
    clearFaults: (id) => call("DELETE", id === undefined ? "/faults" : `/faults/${encodeURIComponent(id)}`).then(done),
    listFaults: () => call("GET", "/faults"),
    counters: () => call("GET", "/counters"),
    resetCounters: () => call("POST", "/counters/reset").then(done),
    configure: (patch) => call("POST", "/config", patch),
    resetBruteForce: () => call("POST", "/brute-force/reset").then(done),
    disableApps: (input) => call("POST", "/apps/disabled", input).then(done),
    mintToken: (input) => call("POST", "/oidc/token", input)
  }
  return Object.assign({ url }, core, ...(options.apps ?? []).map((app) => app.remote(call))) as RemoteSimulator<
    ControlOfApps<Apps>
  >
}
