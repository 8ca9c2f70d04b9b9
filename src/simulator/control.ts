/**
 * The core's test hooks as an Effect API: act as the browser (grant, deny),
 * as the user in Settings → Security (create, list, revoke app passwords),
 * and as the test harness (clock, faults, counters, configuration). The
 * mounted apps add theirs (seeding their data).
 */
import { Effect } from "effect"
import {
  type AppPasswordStatus,
  findUserByLogin,
  mintAppPassword,
  passwordStatus,
  revokeRecord
} from "./accounts.js"
import type { FaultInfo, FaultSpec } from "./faultSpecs.js"
import type { MintedToken, MintTokenInput } from "./oidc.js"
import {
  denyFlow,
  type FlowInfo,
  grantFlow,
  grantFlowWithAppPassword,
  type GrantAsUser,
  type GrantResult,
  type GrantWithAppPassword,
  listFlows
} from "./flows.js"
import type { AppPasswordFormat } from "./tokens.js"
import {
  type AppPasswordRecord,
  type Counters,
  now,
  type SimConfig,
  SimulatorHookError,
  type SimState,
  type SimUserInput,
  snapshotCounters,
  toUser,
  unknownUser
} from "./state.js"

export interface UserInfo {
  readonly userId: string
  readonly loginName: string
  readonly displayName: string
  readonly email: string | null
  readonly hasPassword: boolean
}

export interface AppPasswordInfo {
  readonly id: number
  readonly userId: string
  readonly loginName: string
  /** Device name in Settings → Security (the client's User-Agent for flow grants). */
  readonly name: string
  readonly format: AppPasswordFormat
  /** Current value (after rotations). */
  readonly password: string
  /** Simulator clock, ms since the epoch. */
  readonly createdAt: number
  readonly lastUsedAt: number | null
  readonly revokedAt: number | null
  readonly alive: boolean
  readonly rotations: number
}

export interface CreateAppPassword {
  readonly userId: string
  /** Default "Simulated device". */
  readonly name?: string | undefined
  /** Default: the user's login name. */
  readonly loginName?: string | undefined
  /** "dashed" (Settings page, default) or "long" (72 characters). */
  readonly format?: AppPasswordFormat | undefined
}

export type ConfigPatch = Partial<SimConfig>

/** The core's hooks; each mounted app adds its own (`SimulatorApp`). */
export interface SimulatorControl {
  /** "Grant access" in the browser as this user. Fails if the flow is unknown, expired, not pending or the client is not allowed. */
  readonly grant: (input: GrantAsUser) => Effect.Effect<GrantResult, SimulatorHookError>
  /** "Alternative log in using app password": hands the existing password to the flow. */
  readonly grantWithAppPassword: (input: GrantWithAppPassword) => Effect.Effect<GrantResult, SimulatorHookError>
  /** The user declines or walks away: the client keeps seeing 404 until expiry. */
  readonly deny: (flow: string) => Effect.Effect<void, SimulatorHookError>
  /** Live flows (not expired, not consumed), oldest first. */
  readonly listFlows: Effect.Effect<ReadonlyArray<FlowInfo>>
  readonly addUser: (user: SimUserInput) => Effect.Effect<UserInfo, SimulatorHookError>
  readonly listUsers: Effect.Effect<ReadonlyArray<UserInfo>>
  /** "Create new app password" in Settings → Security. */
  readonly createAppPassword: (input: CreateAppPassword) => Effect.Effect<AppPasswordInfo, SimulatorHookError>
  /** The user deletes the device in Settings → Security; later requests with it get 401. */
  readonly revokeAppPassword: (appPassword: string) => Effect.Effect<void, SimulatorHookError>
  /** Every app password the user ever had, revoked ones included (`alive: false`). */
  readonly listAppPasswords: (userId: string) => Effect.Effect<ReadonlyArray<AppPasswordInfo>, SimulatorHookError>
  /** Whether a password value still works, and if not why. */
  readonly appPasswordStatus: (appPassword: string) => Effect.Effect<AppPasswordStatus>
  /** Move the simulator's clock forward (flow expiry is checked against it). */
  readonly advanceClock: (millis: number) => Effect.Effect<void>
  /** The simulator's clock, ms since the epoch. */
  readonly now: Effect.Effect<number>
  /** Returns the fault's id, for `clearFaults`. A route key must be one of the core's or a mounted app's. */
  readonly injectFault: (spec: FaultSpec) => Effect.Effect<string, SimulatorHookError>
  /** Clear one fault by id, or all of them. */
  readonly clearFaults: (id?: string) => Effect.Effect<void>
  readonly listFaults: Effect.Effect<ReadonlyArray<FaultInfo>>
  readonly counters: Effect.Effect<Counters>
  readonly resetCounters: Effect.Effect<void>
  /** Change settings while running; returns the resulting configuration. */
  readonly configure: (patch: ConfigPatch) => Effect.Effect<SimConfig>
  /** Forget failed login attempts (brute-force model). */
  readonly resetBruteForce: Effect.Effect<void>
  /** An access token from the simulator's OpenID issuer (oidc.ts) for one of its users, for http mode. */
  readonly mintToken: (input: MintTokenInput) => Effect.Effect<MintedToken, SimulatorHookError>
  /**
   * Disable these Nextcloud apps (ids such as `news`, `cookbook`) for one user,
   * or for everyone without `user`; replaces what was disabled before. The
   * navigation and capabilities then leave them out (their routes still answer).
   */
  readonly disableApps: (input: DisableApps) => Effect.Effect<void>
}

export interface DisableApps {
  readonly user?: string | undefined
  readonly apps: ReadonlyArray<string>
}

const infoOf = (record: AppPasswordRecord): AppPasswordInfo => ({
  id: record.id,
  userId: record.userId,
  loginName: record.loginName,
  name: record.name,
  format: record.format,
  password: record.password,
  createdAt: record.createdAt,
  lastUsedAt: record.lastUsedAt,
  revokedAt: record.revokedAt,
  alive: record.revokedAt === null,
  rotations: record.rotations
})

const userInfo = (state: SimState, userId: string): UserInfo | undefined => {
  const user = state.users.get(userId)
  return user === undefined
    ? undefined
    : {
        userId: user.userId,
        loginName: user.loginName,
        displayName: user.displayName,
        email: user.email,
        hasPassword: user.password !== null
      }
}

/** `routeKeys`: every route key of the core and the mounted apps, which fault targets must name. */
export const makeControl = (
  state: SimState,
  routeKeys: ReadonlyArray<string>,
  mintToken: SimulatorControl["mintToken"]
): SimulatorControl => {
  let faultSeq = 0

  const grant = Effect.fn("Simulator.grant")(function* (input: GrantAsUser) {
    return yield* grantFlow(state, input)
  })

  const grantWithAppPassword = Effect.fn("Simulator.grantWithAppPassword")(function* (input: GrantWithAppPassword) {
    return yield* grantFlowWithAppPassword(state, input)
  })

  const deny = Effect.fn("Simulator.deny")(function* (flow: string) {
    return yield* denyFlow(state, flow)
  })

  const addUser = Effect.fn("Simulator.addUser")(function* (input: SimUserInput) {
    const user = toUser(input)
    if (state.users.has(user.userId) || findUserByLogin(state, user.loginName) !== undefined) {
      return yield* new SimulatorHookError({ reason: "UserExists", message: `A user ${user.userId} / ${user.loginName} exists` })
    }
    state.users.set(user.userId, user)
    return userInfo(state, user.userId) ?? (yield* unknownUser(user.userId))
  })

  const createAppPassword = Effect.fn("Simulator.createAppPassword")(function* (input: CreateAppPassword) {
    const user = state.users.get(input.userId)
    if (user === undefined) return yield* unknownUser(input.userId)
    const record = yield* mintAppPassword(state, {
      userId: user.userId,
      loginName: input.loginName ?? user.loginName,
      name: input.name ?? "Simulated device",
      format: input.format ?? "dashed"
    })
    return infoOf(record)
  })

  const revokeAppPassword = Effect.fn("Simulator.revokeAppPassword")(function* (appPassword: string) {
    const at = yield* now(state)
    const id = state.passwordIndex.get(appPassword)
    const record = id === undefined ? undefined : state.appPasswords.get(id)
    if (record === undefined) {
      return yield* new SimulatorHookError({ reason: "UnknownAppPassword", message: "No live app password with that value" })
    }
    revokeRecord(state, record, at)
  })

  const listAppPasswords = Effect.fn("Simulator.listAppPasswords")(function* (userId: string) {
    if (!state.users.has(userId)) return yield* unknownUser(userId)
    return [...state.appPasswords.values()].filter((r) => r.userId === userId).map(infoOf)
  })

  const appPasswordStatus = Effect.fn("Simulator.appPasswordStatus")(function* (appPassword: string) {
    return yield* Effect.sync(() => passwordStatus(state, appPassword))
  })

  const advanceClock = Effect.fn("Simulator.advanceClock")(function* (millis: number) {
    yield* Effect.sync(() => {
      state.clockOffsetMs += Math.max(0, millis)
    })
  })

  const injectFault = Effect.fn("Simulator.injectFault")(function* (spec: FaultSpec) {
    if (typeof spec.target === "string" && !routeKeys.includes(spec.target)) {
      return yield* new SimulatorHookError({
        reason: "InvalidRequest",
        message: `Unknown route key ${JSON.stringify(spec.target)}; known: ${routeKeys.join(", ")} (or give {pathPrefix})`
      })
    }
    return yield* Effect.sync(() => {
      const id = `fault-${++faultSeq}`
      state.faults = [...state.faults, { id, spec, remaining: spec.times ?? null }]
      return id
    })
  })

  const clearFaults = Effect.fn("Simulator.clearFaults")(function* (id?: string) {
    yield* Effect.sync(() => {
      state.faults = id === undefined ? [] : state.faults.filter((f) => f.id !== id)
    })
  })

  const configure = Effect.fn("Simulator.configure")(function* (patch: ConfigPatch) {
    return yield* Effect.sync(() => {
      Object.assign(state.config, patch)
      return { ...state.config }
    })
  })

  return {
    grant,
    grantWithAppPassword,
    deny,
    listFlows: listFlows(state),
    addUser,
    listUsers: Effect.sync(() => [...state.users.keys()].flatMap((id) => userInfo(state, id) ?? [])),
    createAppPassword,
    revokeAppPassword,
    listAppPasswords,
    appPasswordStatus,
    advanceClock,
    now: now(state),
    injectFault,
    clearFaults,
    listFaults: Effect.sync(() => state.faults.map((f) => ({ id: f.id, spec: f.spec, remaining: f.remaining }))),
    counters: Effect.sync(() => snapshotCounters(state)),
    resetCounters: Effect.sync(() => {
      state.counters = { inits: 0, polls: 0, successfulPolls: 0, requests: {} }
    }),
    configure,
    resetBruteForce: Effect.sync(() => state.failedLogins.clear()),
    disableApps: (input) => Effect.sync(() => void state.disabledApps.set(input.user ?? "*", new Set(input.apps))),
    mintToken
  }
}
