/**
 * Login Flow v2 state transitions (docs/nextcloud-protocol.md §3–§5), shared by the
 * HTTP routes and the test hooks that stand in for the browser.
 */
import { Effect, Either } from "effect"
import { aliveRecord, mintAppPassword } from "./accounts.js"
import { trimSlash } from "./http.js"
import { flowToken } from "./tokens.js"
import {
  type Flow,
  FLOW_LIFETIME_MS,
  type GrantedCredentials,
  isExpired,
  now,
  SimulatorHookError,
  type SimState
} from "./state.js"

/** Base for `login` and `poll.endpoint`: the configured external URL, else the request's origin. */
export const externalBase = (state: SimState, requestOrigin: string | undefined): string =>
  trimSlash(state.config.externalBaseUrl ?? requestOrigin ?? state.url)

export const frontController = (state: SimState): string => (state.config.indexPhp ? "/index.php" : "")

export const loginUrlOf = (state: SimState, base: string, flow: Flow): string =>
  `${base}${state.config.overwriteWebroot}${frontController(state)}/login/v2/flow/${flow.loginToken}`

export const pollEndpointOf = (state: SimState, base: string): string =>
  `${base}${state.config.overwriteWebroot}${frontController(state)}/login/v2/poll`

export const initFlow = (state: SimState, clientName: string): Effect.Effect<Flow> =>
  Effect.gen(function* () {
    const createdAt = yield* now(state)
    const pollToken = yield* flowToken
    const loginToken = yield* flowToken
    return yield* Effect.sync(() => {
      const flow: Flow = { pollToken, loginToken, clientName, createdAt, started: false, state: { _tag: "Pending" } }
      state.flows.set(pollToken, flow)
      state.loginTokens.set(loginToken, pollToken)
      state.counters.inits++
      return flow
    })
  })

const forget = (state: SimState, flow: Flow): void => {
  state.flows.delete(flow.pollToken)
  state.loginTokens.delete(flow.loginToken)
}

/**
 * One poll. Credentials exactly once (the row is deleted before they are
 * handed out); pending, denied, expired, unknown and consumed are all `None`.
 */
export const pollFlow = (state: SimState, pollToken: string | undefined): Effect.Effect<GrantedCredentials | undefined> =>
  Effect.flatMap(now(state), (at) =>
    Effect.sync(() => {
      state.counters.polls++
      const flow = pollToken === undefined ? undefined : state.flows.get(pollToken)
      if (flow === undefined) return undefined
      if (isExpired(flow, at)) {
        forget(state, flow)
        return undefined
      }
      if (flow.state._tag !== "Granted") return undefined
      forget(state, flow)
      state.counters.successfulPolls++
      return flow.state.credentials
    })
  )

/** The login token inside a login URL, or the reference itself (a login or poll token). */
const tokenOf = (ref: string): string => {
  const path = ref.split(/[?#]/)[0] ?? ref
  const segments = path.split("/").filter((s) => s !== "")
  return segments[segments.length - 1] ?? ref
}

/** A live flow by login URL, login token or poll token. Expired flows are deleted on touch. */
export const findFlow = (state: SimState, ref: string, at: number): Either.Either<Flow, SimulatorHookError> => {
  const token = tokenOf(ref)
  const pollToken = state.loginTokens.get(token) ?? token
  const flow = state.flows.get(pollToken)
  if (flow === undefined) {
    return Either.left(new SimulatorHookError({ reason: "UnknownFlow", message: "No such login flow (unknown or already consumed)" }))
  }
  if (isExpired(flow, at)) {
    forget(state, flow)
    return Either.left(new SimulatorHookError({ reason: "FlowExpired", message: `The login flow expired (${FLOW_LIFETIME_MS / 1000} s)` }))
  }
  return Either.right(flow)
}

const compile = (source: string): Effect.Effect<RegExp | undefined> => {
  const delimited = /^\/(.*)\/([a-z]*)$/s.exec(source)
  return Effect.try(() => (delimited ? new RegExp(delimited[1] ?? "", delimited[2]) : new RegExp(source))).pipe(
    Effect.orElseSucceed(() => undefined)
  )
}

/** `core.login_flow_v2.allowed_user_agents`: empty allows every client. */
export const clientAllowed = (state: SimState, clientName: string): Effect.Effect<boolean> =>
  state.config.allowedUserAgents.length === 0
    ? Effect.succeed(true)
    : Effect.map(
        Effect.forEach(state.config.allowedUserAgents, compile),
        (regexes) => regexes.some((r) => r !== undefined && r.test(clientName))
      )

/** A live, still-pending flow whose client is allowed. */
export const pendingFlow = (state: SimState, ref: string): Effect.Effect<Flow, SimulatorHookError> =>
  Effect.gen(function* () {
    const at = yield* now(state)
    const flow = yield* Effect.flatten(Effect.sync(() => findFlow(state, ref, at)))
    if (flow.state._tag !== "Pending") {
      return yield* new SimulatorHookError({ reason: "FlowNotPending", message: `The login flow is ${flow.state._tag.toLowerCase()}` })
    }
    if (!(yield* clientAllowed(state, flow.clientName))) {
      return yield* new SimulatorHookError({ reason: "ClientNotAllowed", message: "Please use original client" })
    }
    return flow
  })

export interface GrantAsUser {
  /** Login URL, login token or poll token of the flow. */
  readonly flow: string
  /** The uid of the granting user. */
  readonly userId: string
  /** The name the user typed at login; default: the user's login name. Any case works for Basic auth. */
  readonly loginName?: string | undefined
  /** What the poll reports as `server`; default: configured server URL, else the external base URL. */
  readonly server?: string | undefined
}

export interface GrantWithAppPassword {
  readonly flow: string
  /** Must equal the app password's stored login name exactly (else "Invalid app password"). */
  readonly loginName: string
  readonly appPassword: string
  readonly server?: string | undefined
}

export interface GrantResult {
  readonly server: string
  readonly loginName: string
  readonly appPassword: string
  readonly appPasswordId: number
  /** The app password's name in Settings → Security: the client's User-Agent. */
  readonly name: string
}

export const defaultServer = (state: SimState): string =>
  trimSlash(state.config.serverUrl ?? state.config.externalBaseUrl ?? state.url)

/** The browser's "Grant access": mint a 72-character app password named after the client. */
export const grantFlow = (state: SimState, input: GrantAsUser): Effect.Effect<GrantResult, SimulatorHookError> =>
  Effect.gen(function* () {
    const flow = yield* pendingFlow(state, input.flow)
    const user = state.users.get(input.userId)
    if (user === undefined) {
      return yield* new SimulatorHookError({ reason: "UnknownUser", message: `No user with uid ${input.userId}` })
    }
    const loginName = input.loginName ?? user.loginName
    const record = yield* mintAppPassword(state, {
      userId: user.userId,
      loginName,
      name: flow.clientName,
      format: "long"
    })
    const server = trimSlash(input.server ?? defaultServer(state))
    const credentials: GrantedCredentials = { server, loginName, appPassword: record.password }
    flow.state = { _tag: "Granted", credentials, appPasswordId: record.id }
    return { ...credentials, appPasswordId: record.id, name: record.name }
  })

/** "Alternative log in using app password": the flow hands over the same, existing password. */
export const grantFlowWithAppPassword = (
  state: SimState,
  input: GrantWithAppPassword
): Effect.Effect<GrantResult, SimulatorHookError> =>
  Effect.gen(function* () {
    const flow = yield* pendingFlow(state, input.flow)
    const record = aliveRecord(state, input.appPassword)
    if (record === undefined || record.loginName !== input.loginName) {
      return yield* new SimulatorHookError({ reason: "InvalidAppPassword", message: "Invalid app password" })
    }
    const server = trimSlash(input.server ?? defaultServer(state))
    const credentials: GrantedCredentials = { server, loginName: record.loginName, appPassword: record.password }
    flow.state = { _tag: "Granted", credentials, appPasswordId: record.id }
    return { ...credentials, appPasswordId: record.id, name: record.name }
  })

/**
 * The user walks away or declines. Nextcloud has no "denied" answer: the
 * client keeps seeing 404 until the flow expires.
 */
export const denyFlow = (state: SimState, ref: string): Effect.Effect<void, SimulatorHookError> =>
  Effect.map(pendingFlow(state, ref), (flow) => {
    flow.state = { _tag: "Denied" }
  })

export interface FlowInfo {
  readonly clientName: string
  readonly loginToken: string
  readonly pollToken: string
  readonly loginUrl: string
  readonly createdAt: number
  readonly expiresAt: number
  readonly started: boolean
  readonly state: "pending" | "denied" | "granted"
}

/** Live (not expired, not consumed) flows, oldest first. */
export const listFlows = (state: SimState): Effect.Effect<ReadonlyArray<FlowInfo>> =>
  Effect.flatMap(now(state), (at) =>
    Effect.sync(() => {
      const base = externalBase(state, undefined)
      return [...state.flows.values()]
        .filter((flow) => !isExpired(flow, at))
        .map((flow) => ({
          clientName: flow.clientName,
          loginToken: flow.loginToken,
          pollToken: flow.pollToken,
          loginUrl: loginUrlOf(state, base, flow),
          createdAt: flow.createdAt,
          expiresAt: flow.createdAt + FLOW_LIFETIME_MS,
          started: flow.started,
          state: flow.state._tag === "Pending" ? "pending" : flow.state._tag === "Denied" ? "denied" : "granted"
        }))
    })
  )
