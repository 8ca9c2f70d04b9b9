/**
 * Where provisioning's infrastructure failures become the errors its tools
 * answer: a storage failure is a generic InternalError (logged with its
 * cause), a failed call to Nextcloud says which server failed doing what.
 */
import { Effect } from "effect"
import {
  describeNextcloudFailure,
  logDetail,
  type NextcloudProtocolError,
  type NextcloudTransportError
} from "../nextcloud/errors.js"
import { storageUnavailable } from "../storage/errors.js"

interface StorageFailure {
  readonly _tag: "StorageError"
  readonly operation: string
  readonly cause: unknown
}

export const store = <A, R>(effect: Effect.Effect<A, StorageFailure, R>) =>
  effect.pipe(Effect.catchTag("StorageError", storageUnavailable))

/** Log a failed call to Nextcloud and fail with the tool-facing error; `action` completes "while trying to …". */
export const nextcloudFailure = (host: URL, action: string) => (error: NextcloudTransportError | NextcloudProtocolError) =>
  Effect.logWarning(`Nextcloud failure: ${action}`, { tag: error._tag, detail: logDetail(error) }).pipe(
    Effect.zipRight(Effect.fail(describeNextcloudFailure(host, action, error)))
  )
