/**
 * A Nextcloud app's part of the simulated Nextcloud. The core (login flow,
 * OCS, hooks, faults, counters) knows no app: it mounts the parts it is
 * given (`Simulator.make({ apps })`), and whoever starts it (the `simulate`
 * command, the demo, the tests) passes the registered apps' parts.
 *
 * A part names its routes (for counters and fault targets), serves them on
 * the simulator's state (its own data lives in the closure `mount` returns),
 * adds its `/__sim` hooks and their control API, and says how to drive those
 * hooks over HTTP from another process.
 */
import type { HttpApp, HttpRouter } from "@effect/platform"
import type { Promisified } from "./promisify.js"
import type { RouteKeyOf } from "./routeKeys.js"
import type { InstalledApp, SimState } from "./state.js"

/** An app mounted on one running simulator. */
export interface MountedApp<Control> {
  /** Its routes (an app serves them with and without `/index.php`, as Nextcloud does). */
  readonly routes: HttpRouter.HttpRouter
  /**
   * Requests it answers itself, whatever their method: WebDAV's PROPFIND,
   * MKCOL and MOVE are not router methods. Asked before the router.
   */
  readonly serves?: {
    /**
     * Whether it answers this request. Several apps share the DAV root
     * (`/remote.php/dav/`: files answer SEARCH there, calendars and contacts
     * PROPFIND), so the method is given too; the first app that claims a
     * request answers it.
     */
    readonly path: (path: string, method: string) => boolean
    readonly app: HttpApp.Default
  }
  /**
   * Its keys of `/ocs/v2.php/cloud/capabilities` (e.g. `files_sharing`), read
   * on every request so hooks can change them.
   */
  readonly capabilities?: () => Record<string, unknown>
  /** Its `/__sim/…` hooks. */
  readonly hooks: HttpRouter.HttpRouter
  /** The Effect API of those hooks. */
  readonly control: Control
}

/** Sends one hook request to a simulator in another process; rejects with its `SimulatorHookError`. */
export type HookCall = <A>(method: string, path: string, body?: unknown) => Promise<A>

export interface SimulatorApp<Control extends object> {
  /** Every key `routeKey` answers: fault targets are checked against them. */
  readonly routeKeys: ReadonlyArray<string>
  readonly routeKey: RouteKeyOf
  /** Its lines in the `/__sim` index. */
  readonly hookEndpoints: ReadonlyArray<string>
  readonly mount: (state: SimState) => MountedApp<Control>
  /** The Nextcloud app it stands for, as the user's navigation and the capabilities show it. */
  readonly nextcloudApp?: InstalledApp
  /** Its control API over the HTTP hooks (`call` prefixes `/__sim`). */
  readonly remote: (call: HookCall) => Promisified<Control>
}

// biome-ignore lint: a list of parts holds every control type
export type AnySimulatorApp = SimulatorApp<any>

type ControlOf<A> = A extends SimulatorApp<infer Control> ? Control : never
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never

/** The control APIs of all `Apps` together (`unknown` for none). */
export type ControlOfApps<Apps extends ReadonlyArray<AnySimulatorApp>> = Intersection<ControlOf<Apps[number]>>
