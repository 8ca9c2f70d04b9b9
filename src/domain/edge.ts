/**
 * Where infrastructure failures become tool-facing errors. The cause is logged
 * (without secrets: service errors never carry them); the caller only sees a
 * clear, generic message.
 */
import { Duration, Effect } from "effect"
import type { NextcloudProtocolError, NextcloudTransportError } from "../nextcloud/LoginFlowClient.js"
import { InternalError, NextcloudError, NextcloudUnreachable } from "./Errors.js"

const MAX_CAUSE_DEPTH = 5

const textField = (value: object, key: string): string | undefined => {
  const field = (value as Record<string, unknown>)[key]
  return typeof field === "string" && field.trim() !== "" ? field.trim() : undefined
}

/**
 * A storage failure's message followed by its causes' messages (with the
 * driver's error code), e.g. "Failed to execute statement: database is locked
 * (SQLITE_BUSY)". Only messages and codes: the backends reduce their causes to
 * those, so no stored values or connection secrets are left to print.
 */
export const describeStorageCause = (cause: unknown): string => {
  const parts: Array<string> = []
  let current = cause
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth++) {
    if (typeof current !== "object") {
      parts.push(String(current))
      break
    }
    const message = textField(current, "message")
    const code = textField(current, "code")
    if (message !== undefined) parts.push(code === undefined ? message : `${message} (${code})`)
    current = (current as { readonly cause?: unknown }).cause
  }
  return parts.length === 0 ? "unknown" : parts.join(": ")
}

export const storageUnavailable = (cause: { readonly operation: string; readonly cause: unknown }) =>
  Effect.logError("storage failed", { operation: cause.operation }).pipe(
    Effect.annotateLogs("cause", describeStorageCause(cause.cause)),
    Effect.as(
      new InternalError({
        message: "The server's storage failed; nothing was changed. The details are in the server log."
      })
    )
  )

/** "30 s", "0.5 s": how long a call waited, in the unit NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS uses. */
const seconds = (waited: Duration.Duration): string => `${Math.round(Duration.toMillis(waited)) / 1000} s`

const unanswered = (error: NextcloudTransportError): string =>
  error.reason === "unreachable"
    ? "could not be reached"
    : error.waited === undefined
      ? "did not answer in time"
      : `did not answer within ${seconds(error.waited)}`

/** The tool-facing error for a failed call to Nextcloud; `action` completes "while trying to …". */
export const describeNextcloudFailure = (
  host: URL,
  action: string,
  error: NextcloudTransportError | NextcloudProtocolError
): NextcloudUnreachable | NextcloudError =>
  error._tag === "NextcloudTransportError"
    ? new NextcloudUnreachable({
        message: `Nextcloud at ${host.origin} ${unanswered(error)} while trying to ${action}. Try again later.`
      })
    : new NextcloudError({
        message: `Nextcloud at ${host.origin} answered unexpectedly (HTTP ${error.status}: ${error.detail}) while trying to ${action}.`
      })
