/** Public API of the simulated Nextcloud's core; the apps' parts come from their folders (src/apps/<app>/simulator.ts). */
export {
  allHookEndpoints,
  layer,
  make,
  Simulator,
  type SimulatorHandle,
  type SimulatorOptions,
  SimulatorStartError
} from "./Simulator.js"
export type { AnySimulatorApp, ControlOfApps, HookCall, MountedApp, SimulatorApp } from "./SimulatorApp.js"
export { type PromiseSimulator, startSimulator } from "./promise.js"
export type { Promisified } from "./promisify.js"
export { connectSimulator, type RemoteSimulator } from "./remote.js"
export { DEFAULT_SIMULATOR_PORT, runSimulator } from "./main.js"
export type {
  AppPasswordInfo,
  ConfigPatch,
  CreateAppPassword,
  SimulatorControl,
  UserInfo
} from "./control.js"
export type { FlowInfo, GrantAsUser, GrantResult, GrantWithAppPassword } from "./flows.js"
export { Fault, FaultKind, FaultSpec, FaultTarget, type FaultInfo } from "./faultSpecs.js"
export { CORE_ROUTE_KEYS, type CoreRouteKey, type RouteKeyOf } from "./routeKeys.js"
export type { AppPasswordStatus } from "./accounts.js"
export {
  type Counters,
  DEFAULT_USERS,
  FLOW_LIFETIME_MS,
  type SimConfig,
  SimulatorHookError,
  type SimulatorHookErrorReason,
  type SimUserInput
} from "./state.js"
export { hookEndpoints } from "./hooks.js"
export { DEFAULT_TOKEN_AUDIENCE, DISCOVERY_PATH, JWKS_PATH, type MintedToken, type MintTokenInput } from "./oidc.js"
