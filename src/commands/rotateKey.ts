/**
 * `nextcloud-mcp rotate-key`: re-encrypt every stored secret with the
 * current key (`NC_MCP_ENCRYPTION_KEY`, or the key file `<db>.key`), reading
 * old values with the keys in `NC_MCP_PREVIOUS_ENCRYPTION_KEYS`. Afterwards
 * the previous keys can be removed. Values no configured key decrypts are
 * left untouched and listed, and the command then exits 1 (the previous keys
 * must stay until those are dealt with). Runs against SQLite or PostgreSQL, also while
 * servers keep running (rewrites are compare-and-set); a pass in which
 * another writer changed values is repeated.
 */
import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Console, Effect, Option } from "effect"
import * as AppConfig from "../Config.js"
import { parseKey, parsePreviousKeys } from "../storage/EncryptionKey.js"
import { keyFilePath } from "../storage/layer.js"
import { type ReencryptReport, type SecretLocation, Storage } from "../storage/Storage.js"
import { failStartup, startup, storageFromSettings } from "./startup.js"

const MAX_PASSES = 3

const describe = (location: SecretLocation): string =>
  `${location.field === "grant.app_password" ? "app password" : location.field === "flow.poll_token" ? "pending login poll token" : "pending login URL"} of user ${JSON.stringify(location.userId)}`

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** Re-encrypt until a pass sees no concurrent change (at most MAX_PASSES). */
const rotate = Effect.gen(function* () {
  const storage = yield* Storage
  let reencrypted = 0
  let first: ReencryptReport | undefined
  let last: ReencryptReport = { reencrypted: 0, current: 0, changed: 0, undecryptable: [] }
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    last = yield* storage.reencryptAll()
    first ??= last
    reencrypted += last.reencrypted
    if (last.changed === 0) break
  }
  return { reencrypted, alreadyCurrent: first?.current ?? 0, changed: last.changed, undecryptable: last.undecryptable }
})

export const runRotateKey = Effect.gen(function* () {
  const settings = yield* startup(AppConfig.storageSettings)
  // Key errors first: they are what an operator preparing a rotation gets wrong.
  yield* startup(parsePreviousKeys(Option.getOrUndefined(settings.previousEncryptionKeys)))
  if (Option.isSome(settings.encryptionKey)) yield* startup(parseKey(settings.encryptionKey.value))
  const sqlite = Option.isNone(settings.databaseUrl)
  if (sqlite) {
    const fs = yield* FileSystem.FileSystem
    const exists = settings.dbPath !== ":memory:" && (yield* fs.exists(settings.dbPath).pipe(Effect.orElseSucceed(() => false)))
    if (!exists) {
      return yield* failStartup(`nothing to rotate: the database NC_MCP_DB (${settings.dbPath}) does not exist`)
    }
  }
  const previousConfigured = Option.isSome(settings.previousEncryptionKeys)
  const result = yield* startup(Effect.provide(rotate, storageFromSettings(settings)))

  const keySource =
    Option.isSome(settings.encryptionKey) || !sqlite ? "NC_MCP_ENCRYPTION_KEY" : `the key file ${keyFilePath(settings.dbPath)}`
  yield* Console.log(
    `Re-encrypted ${plural(result.reencrypted, "stored secret", "stored secrets")} with the current key (${keySource}); ${plural(result.alreadyCurrent, "was", "were")} already encrypted with it.`
  )
  if (result.undecryptable.length > 0) {
    yield* Console.log(
      `${plural(result.undecryptable.length, "stored secret", "stored secrets")} could not be decrypted with any configured key and ${result.undecryptable.length === 1 ? "was" : "were"} left untouched:`
    )
    for (const location of result.undecryptable) yield* Console.log(`  - ${describe(location)}`)
    yield* Console.log(
      "Those users are asked to provision again. If you still have the key that encrypted them, add it to NC_MCP_PREVIOUS_ENCRYPTION_KEYS and run rotate-key again."
    )
  }
  if (result.undecryptable.length > 0) {
    // Removing the previous keys now could lose the only key that opens these.
    const n = result.undecryptable.length
    return yield* failStartup(
      `${plural(n, "stored secret is", "stored secrets are")} not opened by any configured key (listed above): keep the previous keys, add the one that encrypted ${n === 1 ? "it" : "them"} to NC_MCP_PREVIOUS_ENCRYPTION_KEYS if you have it, and run rotate-key again`
    )
  }
  if (result.changed > 0) {
    return yield* failStartup(
      `${plural(result.changed, "stored secret", "stored secrets")} kept changing while being re-encrypted: a server may still be running without the new key. Restart every server with the new key and run rotate-key again before removing the previous keys.`
    )
  }
  yield* Console.log(
    previousConfigured
      ? "Every readable secret is now encrypted with the current key: the previous keys (NC_MCP_PREVIOUS_ENCRYPTION_KEYS) can now be removed."
      : "Every readable secret is encrypted with the current key. (No previous keys were configured in NC_MCP_PREVIOUS_ENCRYPTION_KEYS.)"
  )
  if (sqlite && Option.isSome(settings.encryptionKey)) {
    yield* Console.log(
      `Keep NC_MCP_ENCRYPTION_KEY set for the server, or write the new key into ${keyFilePath(settings.dbPath)} (mode 0600) in place of the old one.`
    )
  }
}).pipe(Effect.provide(NodeFileSystem.layer))
