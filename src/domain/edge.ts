/**
 * Where infrastructure failures become tool-facing errors. The caller only
 * sees a clear message, never secrets (service errors never carry them).
 * Storage failures have their own edge: ../storage/errors.ts.
 */
import type { NextcloudProtocolError, NextcloudTransportError } from "../nextcloud/LoginFlowClient.js"
import { NextcloudError, NextcloudUnreachable } from "./Errors.js"

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
