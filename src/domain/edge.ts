/**
 * Where infrastructure failures become tool-facing errors. The cause is logged
 * (without secrets: service errors never carry them); the caller only sees a
 * clear, generic message.
 */
import { Effect } from "effect"
import { InternalError } from "./Errors.js"

export const storageUnavailable = (cause: { readonly operation: string; readonly cause: unknown }) =>
  Effect.logError("storage failed", { operation: cause.operation }).pipe(
    Effect.annotateLogs("cause", String(cause.cause)),
    Effect.as(
      new InternalError({
        message: "The server's storage failed; nothing was changed. The details are in the server log."
      })
    )
  )
