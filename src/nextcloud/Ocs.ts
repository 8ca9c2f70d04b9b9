/**
 * Nextcloud OCS calls made with a user's app password (docs/nextcloud-protocol.md §6, §7):
 * who am I, and revoke this app password.
 */
import { Context, type Effect, type Redacted } from "effect"
import type { NextcloudProtocolError, NextcloudTransportError, NextcloudUnauthorized } from "./errors.js"

export interface Credentials {
  readonly loginName: string
  readonly appPassword: Redacted.Redacted<string>
}

/** Credentials plus the Nextcloud user id, which DAV paths use (docs/nextcloud-protocol.md §7). */
export interface DavAccount extends Credentials {
  /** The Nextcloud user id (`/ocs/v2.php/cloud/user` `data.id`). */
  readonly userId: string
}

export interface NextcloudUser {
  /** The user id (DAV paths), which can differ from the login name. */
  readonly id: string
  readonly displayName: string | null
}

export interface OcsShape {
  /** GET /ocs/v2.php/cloud/user?format=json with OCS-APIRequest: true. */
  readonly currentUser: (
    credentials: Credentials
  ) => Effect.Effect<NextcloudUser, NextcloudUnauthorized | NextcloudTransportError | NextcloudProtocolError>
  /**
   * DELETE /ocs/v2.php/core/apppassword. Succeeds when Nextcloud confirms the
   * password is gone: 200, or 401 (it no longer works).
   */
  readonly revokeAppPassword: (
    credentials: Credentials
  ) => Effect.Effect<void, NextcloudTransportError | NextcloudProtocolError>
}

export class Ocs extends Context.Tag("nextcloud-mcp/Ocs")<Ocs, OcsShape>() {}
