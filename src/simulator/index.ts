/** Public API of the simulated Nextcloud. */
export {
  layer,
  make,
  Simulator,
  type SimulatorHandle,
  type SimulatorOptions,
  SimulatorStartError
} from "./Simulator.js"
export { type PromiseSimulator, type Promisified, startSimulator } from "./promise.js"
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
export { Fault, FaultKind, FaultSpec, FaultTarget, type FaultInfo } from "./faults.js"
export { ROUTE_KEYS, type RouteKey } from "./routeKeys.js"
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
export type { NoteInfo, NotesControl, SeedNote } from "./notes.js"
export type { DavControl, FileContentInfo, FileInfo, PathRef, SeedFile } from "./webdav.js"
