/**
 * Random values in the shapes Nextcloud uses (docs/nextcloud-protocol.md §3, §6):
 * 128-character flow tokens, 72-character app passwords, and the dashed
 * 5×5 passwords the Settings page creates.
 */
import { randomInt } from "node:crypto"
import { Effect } from "effect"

const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
/** ISecureRandom::CHAR_HUMAN_READABLE: no look-alike characters. */
const HUMAN_READABLE = "abcdefgijkmnopqrstwxyzABCDEFGHJKLMNPQRSTWXYZ23456789"

const randomFrom = (alphabet: string, length: number): string => {
  let out = ""
  for (let i = 0; i < length; i++) out += alphabet.charAt(randomInt(alphabet.length))
  return out
}

/** Poll and login tokens (`ISecureRandom::generate(128, digits+lower+upper)`). */
export const flowToken: Effect.Effect<string> = Effect.sync(() => randomFrom(ALNUM, 128))

/** App passwords minted by the flow, getapppassword and rotate. */
export const longAppPassword: Effect.Effect<string> = Effect.sync(() => randomFrom(ALNUM, 72))

/** App passwords created by hand in Settings → Security. */
export const dashedAppPassword: Effect.Effect<string> = Effect.sync(() =>
  Array.from({ length: 5 }, () => randomFrom(HUMAN_READABLE, 5)).join("-")
)

export type AppPasswordFormat = "long" | "dashed"

export const appPassword = (format: AppPasswordFormat): Effect.Effect<string> =>
  format === "dashed" ? dashedAppPassword : longAppPassword
