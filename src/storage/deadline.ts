/**
 * A client-side deadline on storage operations. A database behind a
 * silently dropped network never answers; the operation then fails with a
 * `StorageError` at the deadline (the tool answers InternalError) instead of
 * waiting for TCP to give up. The abandoned work is interrupted in the
 * background: cancelling a query needs the network too, so the caller does
 * not wait for it.
 */
import { Duration, Effect } from "effect"
import { StorageError, type StorageShape } from "./Storage.js"

/** Operations that legitimately run long (a whole key rotation) keep only their per-statement limits. */
const UNBOUNDED: ReadonlyArray<keyof StorageShape> = ["reencryptAll"]

type Operation = (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, StorageError>

/** `storage` with every operation (but {@link UNBOUNDED}) failing at `timeout`. */
export const withDeadline = (storage: StorageShape, timeout: Duration.DurationInput): StorageShape => {
  const duration = Duration.decode(timeout)
  const bounded = (operation: string, method: Operation): Operation => (...args) =>
    method(...args).pipe(
      Effect.disconnect,
      Effect.timeoutFail({
        duration,
        onTimeout: () =>
          new StorageError({
            operation,
            cause: { message: `no answer from the database within ${Duration.format(duration)}` }
          })
      })
    )
  const entries = Object.entries(storage as unknown as Record<string, Operation>).map(([name, method]) =>
    [name, UNBOUNDED.includes(name as keyof StorageShape) ? method : bounded(name, method)] as const
  )
  // Same keys, same signatures: each method only gained a failure it already declares.
  return Object.fromEntries(entries) as unknown as StorageShape
}
