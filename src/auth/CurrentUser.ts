import { Context } from "effect"
import type { UserId } from "../domain/Ids.js"
import type { Scope } from "../domain/Scope.js"

/**
 * The caller of the current request. stdio: NC_MCP_USER with no token
 * restriction; http: the verified token's `sub` and scopes.
 */
export interface CurrentUserShape {
  readonly userId: UserId
  /** Scopes the bearer token carries; `null` = the token layer allows everything (stdio). */
  readonly tokenScopes: ReadonlyArray<Scope> | null
}

export class CurrentUser extends Context.Tag("nextcloud-mcp/CurrentUser")<CurrentUser, CurrentUserShape>() {}
