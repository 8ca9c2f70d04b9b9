/**
 * Where infrastructure failures become tool-facing errors. The cause is logged
 * (without secrets: service errors never carry them); the caller only sees a
 * clear, generic message.
 */
import { Effect } from "effect"
import type { NextcloudProtocolError, NextcloudTransportError } from "../nextcloud/LoginFlowClient.js"
import { InternalError, NextcloudError, NextcloudUnreachable } from "./Errors.js"

export const storageUnavailable = (cause: { readonly operation: string; readonly cause: unknown }) =>
  Effect.logError("storage failed", { operation: cause.operation }).pipe(
    Effect.annotateLogs("cause", String(cause.cause)),
    Effect.as(
      new InternalError({
        message: "The server's storage failed; nothing was changed. The details are in the server log."
      })
    )
  )

/** The tool-facing error for a failed call to Nextcloud; `action` completes "while trying to …". */
export const describeNextcloudFailure = (
  host: URL,
  action: string,
  error: NextcloudTransportError | NextcloudProtocolError
): NextcloudUnreachable | NextcloudError =>
  error._tag === "NextcloudTransportError"
    ? new NextcloudUnreachable({
        message: `Nextcloud at ${host.origin} ${error.reason === "timeout" ? "did not answer in time" : "could not be reached"} while trying to ${action}. Try again later.`
      })
    : new NextcloudError({
        message: `Nextcloud at ${host.origin} answered unexpectedly (HTTP ${error.status}: ${error.detail}) while trying to ${action}.`
      })
