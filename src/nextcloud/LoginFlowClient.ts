/**
 * Nextcloud Login Flow v2, client side (loginflow-v2.md §1, §3).
 */
import { Context, Data, type Duration, type Effect, type Redacted } from "effect"

/** Nextcloud could not be reached, or did not answer in time. Safe to retry later. */
export class NextcloudTransportError extends Data.TaggedError("NextcloudTransportError")<{
  readonly operation: string
  readonly reason: "unreachable" | "timeout"
  readonly cause: unknown
  /** A timeout: how long the call waited (NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS). */
  readonly waited?: Duration.Duration
}> {}

/** Nextcloud answered, but not as expected (status, malformed body, missing fields). */
export class NextcloudProtocolError extends Data.TaggedError("NextcloudProtocolError")<{
  readonly operation: string
  readonly status: number
  readonly detail: string
}> {}

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
