/**
 * The waiting for a login, offered as a task (the MCP tasks extension) by the
 * auth tools that start or follow one. A task is the user's pending flow: its
 * id names the user and the flow's start time (sealed by the MCP adapter), so
 * any replica answers for it from the stored flow and grant, and it ends as
 * the flow does: completed when the app password is stored, cancelled when
 * the flow is declined, cancelled or replaced, gone at the flow's deadline.
 */
import { Effect, type Option } from "effect"
import type { UserId } from "../domain/Ids.js"
import { type LoginState, Provisioning } from "../provisioning/Provisioning.js"


export type { LoginState } from "../provisioning/Provisioning.js"

export interface LoginTasks<R> {
  /** The tools whose call may become a task (when a login is pending after it). */
  readonly tools: ReadonlySet<string>
  /** The tool whose result a completed task carries. */
  readonly resultTool: string
  readonly pending: (userId: UserId) => Effect.Effect<Option.Option<{ readonly createdAt: number; readonly expiresAt: number }>, unknown, R>
  readonly state: (userId: UserId, createdAt: number, expiresAt: number) => Effect.Effect<LoginState, unknown, R>
  readonly answer: (userId: UserId, createdAt: number, answer: "accept" | "decline" | "cancel") => Effect.Effect<void, unknown, R>
}

export const loginTasks: LoginTasks<Provisioning> = {
  tools: new Set(["nc_auth_provision_access", "nc_auth_check_status", "nc_auth_update_scopes"]),
  resultTool: "nc_auth_check_status",
  pending: (userId) => Effect.flatMap(Provisioning, (p) => p.pendingLogin(userId)),
  state: (userId, createdAt, expiresAt) => Effect.flatMap(Provisioning, (p) => p.loginState(userId, createdAt, expiresAt)),
  answer: (userId, createdAt, answer) => Effect.flatMap(Provisioning, (p) => p.answerLogin(userId, createdAt, answer))
}
