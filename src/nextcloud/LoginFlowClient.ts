/**
 * Nextcloud Login Flow v2, client side (docs/nextcloud-protocol.md §3, §5).
 */
import { Context, type Effect, type Redacted } from "effect"
import type { NextcloudProtocolError, NextcloudTransportError } from "./errors.js"

export interface InitiatedFlow {
  /** On NEXTCLOUD_PUBLIC_URL's origin: what the user opens. */
  readonly loginUrl: Redacted.Redacted<string>
  /** On NEXTCLOUD_HOST's origin (same path as Nextcloud returned). */
  readonly pollEndpoint: string
  readonly pollToken: Redacted.Redacted<string>
}

export interface CompletedFlow {
  readonly server: string
  readonly loginName: string
  readonly appPassword: Redacted.Redacted<string>
}

export type PollResult =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Completed"; readonly credentials: CompletedFlow }

export interface LoginFlowClientShape {
  /** POST /index.php/login/v2. Only a 200 with all fields succeeds. */
  readonly initiate: Effect.Effect<InitiatedFlow, NextcloudTransportError | NextcloudProtocolError>
  /**
   * POST the poll endpoint with `token`. 200 → Completed (one-shot), 404 →
   * Pending (pending, expired and unknown all look alike: the caller tracks the
   * deadline). Anything else is an error, never "expired".
   */
  readonly poll: (
    pollEndpoint: string,
    pollToken: Redacted.Redacted<string>
  ) => Effect.Effect<PollResult, NextcloudTransportError | NextcloudProtocolError>
}

export class LoginFlowClient extends Context.Tag("nextcloud-mcp/LoginFlowClient")<
  LoginFlowClient,
  LoginFlowClientShape
>() {}
