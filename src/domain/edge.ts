/**
 * Where infrastructure failures become tool-facing errors. The caller only
 * sees a clear message, never secrets (service errors never carry them).
 * Storage failures have their own edge: ../storage/errors.ts.
 */
import { Duration } from "effect"
import type { NextcloudProtocolError, NextcloudTransportError } from "../nextcloud/LoginFlowClient.js"
import { NextcloudError, NextcloudUnreachable } from "./Errors.js"

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
