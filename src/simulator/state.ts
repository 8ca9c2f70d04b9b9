/**
 * The simulator's in-memory state. One plain object per simulator; every
 * operation on it runs inside a single `Effect.sync`, so each one is atomic
 * (JavaScript runs one request's synchronous code at a time).
 */
import { Clock, Data, Effect } from "effect"
import type { FaultEntry } from "./faultSpecs.js"
import type { AppPasswordFormat } from "./tokens.js"

/** Flows live 1200 s from init (`LoginFlowV2Mapper::lifetime`). */
export const FLOW_LIFETIME_MS = 1_200_000

export interface SimUserInput {
  /** The uid: used in DAV paths and returned as `data.id` by `/cloud/user`. */
  readonly userId: string
  /** What the user types at login; may differ from the uid (an email, other case). Default: userId. */
  readonly loginName?: string | undefined
  readonly displayName?: string | undefined
  readonly email?: string | undefined
  /** The real login password; without one the user can only use app passwords (SSO-like). */
  readonly password?: string | undefined
}

export interface SimUser {
  readonly userId: string
  readonly loginName: string
  readonly displayName: string
  readonly email: string | null
  readonly password: string | null
}

export const DEFAULT_USERS: ReadonlyArray<SimUserInput> = [
  {
    userId: "alice",
    loginName: "alice",
    displayName: "Alice Example",
    email: "alice@example.org",
    password: "alice-password"
  },
  {
    userId: "ada-5c7e",
    loginName: "ada@example.org",
    displayName: "Ada Lovelace",
    email: "ada@example.org",
    password: "ada-password"
  }
]

export interface AppPasswordRecord {
  readonly id: number
  readonly userId: string
  /** Basic auth must use this name (compared case-insensitively). */
  readonly loginName: string
  /** The device name shown in Settings → Security: the client's User-Agent. */
  readonly name: string
  readonly format: AppPasswordFormat
  readonly createdAt: number
  /** Current value; rotation re-keys the same record. */
  password: string
  lastUsedAt: number | null
  revokedAt: number | null
  rotations: number
}

export interface GrantedCredentials {
  readonly server: string
  readonly loginName: string
  readonly appPassword: string
}

export type FlowState =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Denied" }
  | { readonly _tag: "Granted"; readonly credentials: GrantedCredentials; readonly appPasswordId: number }

export interface Flow {
  readonly pollToken: string
  readonly loginToken: string
  /** The User-Agent of the init request ("" when absent). */
  readonly clientName: string
  readonly createdAt: number
  /** The landing page was opened. */
  started: boolean
  state: FlowState
}

/** Settings that tests may change while the simulator runs. */
export interface SimConfig {
  /** Origin (plus webroot) used in `login` and `poll.endpoint`; null = from the request's Host header. */
  externalBaseUrl: string | null
  /**
   * Nextcloud's `overwritewebroot`: put verbatim between the base and the rest
   * of the generated `login` and `poll.endpoint` URLs; "" for none. "/" gives
   * `http://host//index.php/login/v2/poll` (a webroot that ends in a slash);
   * `//evil:8080` and the like model an answer that tries to send the client
   * elsewhere. Requests are still served at the simulator's own paths.
   */
  overwriteWebroot: string
  /** Put `/index.php` in the generated URLs (no pretty URLs). */
  indexPhp: boolean
  /** What a grant reports as `server`; null = the browser request's origin, else the external base URL. */
  serverUrl: string | null
  /** `core.login_flow_v2.allowed_user_agents`: regex sources; empty = all clients allowed. */
  allowedUserAgents: ReadonlyArray<string>
  /** Failed logins per IP before 429; null = no brute-force protection. */
  bruteForceMaxAttempts: number | null
  instanceName: string
}

export interface Counters {
  /** Flows created by `POST /login/v2`. */
  readonly inits: number
  /** Poll requests answered by the poll handler (faulted requests excluded). */
  readonly polls: number
  /** Polls that handed out credentials (200). */
  readonly successfulPolls: number
  /** Every request that arrived, per route key (see routeKeys.ts; the apps add theirs). */
  readonly requests: Readonly<Record<string, number>>
}

/** A Nextcloud app as the navigation and the capabilities show it (a mounted part's `nextcloudApp`). */
export interface InstalledApp {
  /** Nextcloud's app id (`notes`, `deck`, `files_sharing`). */
  readonly id: string
  /** Its navigation entry's name; absent: the app has no navigation entry. */
  readonly name?: string
  /** Its capabilities, under its id; absent: it announces none. */
  readonly capabilities?: Readonly<Record<string, unknown>>
}

export interface SimState {
  /** Set once the server listens. */
  url: string
  readonly config: SimConfig
  readonly users: Map<string, SimUser>
  readonly appPasswords: Map<number, AppPasswordRecord>
  /** Current password value → record id. */
  readonly passwordIndex: Map<string, number>
  /** Values that used to work: revoked or rotated away. */
  readonly retiredPasswords: Map<string, "revoked" | "rotated">
  readonly flows: Map<string, Flow>
  /** Login token → poll token. */
  readonly loginTokens: Map<string, string>
  readonly failedLogins: Map<string, number>
  faults: Array<FaultEntry>
  clockOffsetMs: number
  /** Ids for everything the simulator creates (app passwords, and whatever the apps create). */
  nextId: number
  counters: { inits: number; polls: number; successfulPolls: number; requests: Record<string, number> }
  /** The apps the mounted parts stand for. */
  installedApps: ReadonlyArray<InstalledApp>
  /** Nextcloud app ids disabled for everyone (`*`) or per user id. */
  readonly disabledApps: Map<string, ReadonlySet<string>>
}

export type SimulatorHookErrorReason =
  | "UnknownFlow"
  | "FlowExpired"
  | "FlowNotPending"
  | "ClientNotAllowed"
  | "UnknownUser"
  | "UserExists"
  | "InvalidAppPassword"
  | "UnknownAppPassword"
  | "UnknownFault"
  | "UnknownPath"
  | "InvalidRequest"

/** A hook could not do what was asked (e.g. granting a flow that does not exist). */
export class SimulatorHookError extends Data.TaggedError("SimulatorHookError")<{
  readonly reason: SimulatorHookErrorReason
  readonly message: string
}> {}

export const unknownUser = (userId: string) =>
  new SimulatorHookError({ reason: "UnknownUser", message: `No user with uid ${userId}` })

/** Fails with `UnknownUser` unless the uid exists (hooks that act on a user's data). */
export const knownUser = (state: SimState, userId: string): Effect.Effect<void, SimulatorHookError> =>
  state.users.has(userId) ? Effect.void : Effect.fail(unknownUser(userId))

export const toUser = (input: SimUserInput): SimUser => ({
  userId: input.userId,
  loginName: input.loginName ?? input.userId,
  displayName: input.displayName ?? input.userId,
  email: input.email ?? null,
  password: input.password ?? null
})

export const makeState = (config: SimConfig, users: ReadonlyArray<SimUserInput>): SimState => ({
  url: "",
  config,
  users: new Map(users.map((u) => [u.userId, toUser(u)])),
  appPasswords: new Map(),
  passwordIndex: new Map(),
  retiredPasswords: new Map(),
  flows: new Map(),
  loginTokens: new Map(),
  failedLogins: new Map(),
  faults: [],
  clockOffsetMs: 0,
  nextId: 1,
  counters: { inits: 0, polls: 0, successfulPolls: 0, requests: {} },
  installedApps: [],
  disabledApps: new Map()
})

/** The apps a user can use: installed, and disabled neither for everyone nor for them. */
export const enabledAppsFor = (state: SimState, userId: string): ReadonlyArray<InstalledApp> => {
  const everyone = state.disabledApps.get("*")
  const theirs = state.disabledApps.get(userId)
  return state.installedApps.filter((app) => !everyone?.has(app.id) && !theirs?.has(app.id))
}

/** The simulator's clock: the ambient `Clock` plus whatever tests advanced it by. */
export const now = (state: SimState): Effect.Effect<number> =>
  Effect.map(Clock.currentTimeMillis, (t) => t + state.clockOffsetMs)

export const isExpired = (flow: Flow, at: number): boolean => at - flow.createdAt >= FLOW_LIFETIME_MS

export const snapshotCounters = (state: SimState): Counters => ({
  inits: state.counters.inits,
  polls: state.counters.polls,
  successfulPolls: state.counters.successfulPolls,
  requests: { ...state.counters.requests }
})
