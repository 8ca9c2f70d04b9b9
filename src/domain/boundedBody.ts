/**
 * Reading a body from a peer that may send too much: the bytes are counted
 * as they arrive and reading stops at the first chunk past the limit, so
 * memory stays bounded whatever the peer sends.
 */
import { Chunk, Effect, Stream } from "effect"

/** The whole of `body`, or `tooLarge()` as soon as more than `maxBytes` have arrived (the rest is not read). */
export const collectAtMost =
  <E2>(maxBytes: number, tooLarge: () => E2) =>
  <E, R>(body: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Uint8Array, E | E2, R> =>
    body.pipe(
      Stream.mapAccumEffect(0, (seen, chunk) => {
        const total = seen + chunk.length
        return total > maxBytes ? Effect.fail(tooLarge()) : Effect.succeed([total, chunk] as const)
      }),
      Stream.runCollect,
      Effect.map((chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks)))
    )
