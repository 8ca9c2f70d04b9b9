/**
 * Users and app passwords, and how a request's credentials are checked
 * (docs/nextcloud-protocol.md §6: `Session::logClientIn`, `validateTokenLoginName`).
 */
import { Effect } from "effect"
import { appPassword, type AppPasswordFormat } from "./tokens.js"
import { type AppPasswordRecord, now, type SimState, type SimUser } from "./state.js"

const lower = (s: string): string => s.toLowerCase()

/** A user by the name typed at login: login name or uid, any case. */
export const findUserByLogin = (state: SimState, login: string): SimUser | undefined => {
  const wanted = lower(login)
  for (const user of state.users.values()) {
    if (lower(user.loginName) === wanted || lower(user.userId) === wanted) return user
  }
  return undefined
}

/** The record a password currently opens, if it is alive. */
export const aliveRecord = (state: SimState, password: string): AppPasswordRecord | undefined => {
  const id = state.passwordIndex.get(password)
  const record = id === undefined ? undefined : state.appPasswords.get(id)
  return record !== undefined && record.revokedAt === null ? record : undefined
}

export interface MintInput {
  readonly userId: string
  readonly loginName: string
  readonly name: string
  readonly format: AppPasswordFormat
}

export const mintAppPassword = (state: SimState, input: MintInput): Effect.Effect<AppPasswordRecord> =>
  Effect.gen(function* () {
    const at = yield* now(state)
    const password = yield* appPassword(input.format)
    return yield* Effect.sync(() => {
      const record: AppPasswordRecord = {
        id: state.nextId++,
        userId: input.userId,
        loginName: input.loginName,
        name: input.name,
        format: input.format,
        createdAt: at,
        password,
        lastUsedAt: null,
        revokedAt: null,
        rotations: 0
      }
      state.appPasswords.set(record.id, record)
      state.passwordIndex.set(password, record.id)
      return record
    })
  })

export const revokeRecord = (state: SimState, record: AppPasswordRecord, at: number): void => {
  if (record.revokedAt !== null) return
  record.revokedAt = at
  state.passwordIndex.delete(record.password)
  state.retiredPasswords.set(record.password, "revoked")
}

/** Re-key the same record (device entry and name stay); the old value dies at once. */
export const rotateRecord = (state: SimState, record: AppPasswordRecord): Effect.Effect<string> =>
  Effect.map(appPassword("long"), (fresh) => {
    state.passwordIndex.delete(record.password)
    state.retiredPasswords.set(record.password, "rotated")
    record.password = fresh
    record.rotations++
    state.passwordIndex.set(fresh, record.id)
    return fresh
  })

export type AppPasswordStatus = "alive" | "revoked" | "rotated" | "unknown"

export const passwordStatus = (state: SimState, password: string): AppPasswordStatus =>
  aliveRecord(state, password) !== undefined ? "alive" : (state.retiredPasswords.get(password) ?? "unknown")

export type AuthResult =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "AppPassword"; readonly record: AppPasswordRecord; readonly user: SimUser }
  | { readonly _tag: "LoginPassword"; readonly user: SimUser }
  | { readonly _tag: "Failed" }

const FAILED: AuthResult = { _tag: "Failed" }

const decodeBasic = (encoded: string): { user: string; password: string } | undefined => {
  const decoded = Buffer.from(encoded, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/**
 * Check the Authorization header. Basic with an app password requires the
 * token's login name (case-insensitive); Basic with a real password logs the
 * user in directly; Bearer with an app password skips the name check.
 */
export const authenticate = (state: SimState, authorization: string | undefined, at: number): AuthResult => {
  if (authorization === undefined || authorization.trim() === "") return { _tag: "Anonymous" }
  const space = authorization.indexOf(" ")
  const scheme = lower(space < 0 ? authorization : authorization.slice(0, space))
  const value = space < 0 ? "" : authorization.slice(space + 1).trim()
  if (scheme === "bearer") {
    const record = aliveRecord(state, value)
    const user = record && state.users.get(record.userId)
    if (record === undefined || user === undefined) return FAILED
    record.lastUsedAt = at
    return { _tag: "AppPassword", record, user }
  }
  if (scheme !== "basic") return FAILED
  const basic = decodeBasic(value)
  if (basic === undefined) return FAILED
  const record = aliveRecord(state, basic.password)
  if (record !== undefined) {
    const user = state.users.get(record.userId)
    if (user === undefined || lower(record.loginName) !== lower(basic.user)) return FAILED
    record.lastUsedAt = at
    return { _tag: "AppPassword", record, user }
  }
  const user = findUserByLogin(state, basic.user)
  if (user !== undefined && user.password !== null && user.password === basic.password) {
    return { _tag: "LoginPassword", user }
  }
  return FAILED
}
