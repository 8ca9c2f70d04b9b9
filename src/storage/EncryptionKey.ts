/**
 * The 32-byte key that encrypts secrets at rest (`NC_MCP_ENCRYPTION_KEY`).
 *
 * - {@link parseKey} accepts base64 or base64url (padding optional) that
 *   decodes to exactly 32 bytes.
 * - {@link loadOrCreateKeyFile} backs the stdio default (`<db>.key`): it reads
 *   the file if present, otherwise generates a key and writes it with mode
 *   0600. An existing key file that group or others can read, write or
 *   execute (any bit of 0o077) is refused, as ssh does for private keys: a
 *   key others can read protects nothing, and silently using it would hide
 *   that. The fix is named in the error (`chmod 600 <file>`). The permission
 *   check is skipped on Windows, where POSIX modes mean nothing.
 *
 * Creation is atomic and never clobbers a key another process created at the
 * same moment: the key is written to a private temporary file in the same
 * folder and hard-linked into place (which fails if the name exists), so two
 * servers racing on first start end up using the same key. Where hard links
 * are unsupported it falls back to rename.
 *
 * - {@link parsePreviousKeys} reads `NC_MCP_PREVIOUS_ENCRYPTION_KEYS`, the
 *   keys that still decrypt during a key rotation.
 *
 * Error messages name the variable or file and never contain key material.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { hkdfSync, randomBytes } from "node:crypto"
import { Data, Effect, Redacted } from "effect"
import { KEY_BYTES } from "./Cipher.js"

export const ENV_VAR = "NC_MCP_ENCRYPTION_KEY"

export class EncryptionKeyError extends Data.TaggedError("EncryptionKeyError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

const KEY_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/

const GENERATE_HINT = "generate one with `openssl rand -base64 32`"

/**
 * Parse a key from text. `source` names where it came from in error messages
 * (defaults to the environment variable).
 */
export const parseKey = (
  raw: string | Redacted.Redacted<string>,
  source: string = ENV_VAR
): Effect.Effect<Redacted.Redacted<Uint8Array>, EncryptionKeyError> =>
  Effect.suspend(() => {
    const text = (typeof raw === "string" ? raw : Redacted.value(raw)).trim()
    if (text.length === 0) {
      return Effect.fail(new EncryptionKeyError({ message: `${source} is empty; ${GENERATE_HINT}` }))
    }
    if (!KEY_TEXT.test(text) || (text.includes("=") && text.length % 4 !== 0)) {
      return Effect.fail(
        new EncryptionKeyError({
          message: `${source} is not valid base64 or base64url; it must encode ${KEY_BYTES} random bytes (${GENERATE_HINT})`
        })
      )
    }
    const bytes = Buffer.from(text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), "base64url")
    if (bytes.length !== KEY_BYTES) {
      bytes.fill(0)
      return Effect.fail(
        new EncryptionKeyError({
          message: `${source} must decode to exactly ${KEY_BYTES} bytes, got ${bytes.length} (${GENERATE_HINT})`
        })
      )
    }
    return Effect.succeed(Redacted.make(new Uint8Array(bytes)))
  })

export const PREVIOUS_KEYS_ENV_VAR = "NC_MCP_PREVIOUS_ENCRYPTION_KEYS"

/**
 * Parse the previous keys (`NC_MCP_PREVIOUS_ENCRYPTION_KEYS`): comma-separated
 * keys in the form {@link parseKey} accepts; blank entries are ignored. An
 * error names the variable and the entry's position, never its text.
 */
export const parsePreviousKeys = (
  raw: string | Redacted.Redacted<string> | undefined
): Effect.Effect<ReadonlyArray<Redacted.Redacted<Uint8Array>>, EncryptionKeyError> => {
  if (raw === undefined) return Effect.succeed([])
  const entries = (typeof raw === "string" ? raw : Redacted.value(raw)).split(",")
  const numbered = entries.length > 1
  return Effect.forEach(
    entries.map((text, i) => [text.trim(), i] as const).filter(([text]) => text.length > 0),
    ([text, i]) => parseKey(text, numbered ? `${PREVIOUS_KEYS_ENV_VAR} entry ${i + 1}` : PREVIOUS_KEYS_ENV_VAR)
  )
}

/** Fresh random key. */
export const generateKey: Effect.Effect<Redacted.Redacted<Uint8Array>> = Effect.sync(() =>
  Redacted.make(new Uint8Array(randomBytes(KEY_BYTES)))
)

/** Base64 text of a key, as written to key files. */
export const encodeKey = (key: Redacted.Redacted<Uint8Array>): Redacted.Redacted<string> =>
  Redacted.make(Buffer.from(Redacted.value(key)).toString("base64"))

const fileError = (path: string, what: string) => (cause: PlatformError) =>
  new EncryptionKeyError({ message: `Cannot ${what} key file ${path}: ${cause.message}`, cause })

const readKeyFile = (fs: FileSystem.FileSystem, path: string, info: FileSystem.File.Info) =>
  Effect.gen(function* () {
    if (info.type !== "File") {
      return yield* new EncryptionKeyError({ message: `Key file ${path} is not a regular file` })
    }
    if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, "0")
      return yield* new EncryptionKeyError({
        message: `Key file ${path} is accessible by group or others (mode ${mode}); run \`chmod 600 ${path}\` and, if others may have read it, replace the key`
      })
    }
    const text = yield* fs.readFileString(path).pipe(Effect.mapError(fileError(path, "read")))
    return yield* parseKey(Redacted.make(text), `Key file ${path}`)
  })

const createKeyFile = (fs: FileSystem.FileSystem, pathApi: Path.Path, path: string) =>
  Effect.gen(function* () {
    const dir = pathApi.dirname(path)
    yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 }).pipe(Effect.mapError(fileError(path, "create the folder of")))
    const key = yield* generateKey
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`
    const install = Effect.gen(function* () {
      yield* fs
        .writeFileString(tmp, `${Redacted.value(encodeKey(key))}\n`, { flag: "wx", mode: 0o600 })
        .pipe(Effect.mapError(fileError(path, "write")))
      yield* fs.chmod(tmp, 0o600).pipe(Effect.mapError(fileError(path, "set the mode of")))
      return yield* fs.link(tmp, path).pipe(
        Effect.as(true),
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "AlreadyExists",
          () => Effect.succeed(false)
        ),
        Effect.catchAll(() => fs.rename(tmp, path).pipe(Effect.as(true), Effect.mapError(fileError(path, "write"))))
      )
    })
    const installed = yield* install.pipe(Effect.ensuring(fs.remove(tmp).pipe(Effect.ignore)))
    return installed ? key : undefined
  })

/**
 * Read the key stored at `path`, or create one there (folder included) if
 * the file does not exist.
 */
export const loadOrCreateKeyFile = (
  path: string
): Effect.Effect<Redacted.Redacted<Uint8Array>, EncryptionKeyError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const pathApi = yield* Path.Path
    const stat = fs.stat(path).pipe(
      Effect.map((info) => info as FileSystem.File.Info | undefined),
      Effect.catchIf(
        (e) => e._tag === "SystemError" && e.reason === "NotFound",
        () => Effect.succeed(undefined)
      ),
      Effect.mapError(fileError(path, "inspect"))
    )
    const existing = yield* stat
    if (existing !== undefined) return yield* readKeyFile(fs, path, existing)
    const created = yield* createKeyFile(fs, pathApi, path)
    if (created !== undefined) return created
    // Another process created it first: use theirs.
    const theirs = yield* stat
    if (theirs === undefined) {
      return yield* new EncryptionKeyError({ message: `Key file ${path} vanished while it was being created` })
    }
    return yield* readKeyFile(fs, path, theirs)
  }).pipe(Effect.withSpan("EncryptionKey.loadOrCreateKeyFile"))

/**
 * A key for another purpose than encrypting stored secrets, derived from the
 * encryption key (HKDF-SHA256, the purpose as its info): every replica holding
 * the encryption key derives the same one, and it reveals nothing of it.
 */
export const derivedKey = (key: Redacted.Redacted<Uint8Array>, purpose: string): Redacted.Redacted<Uint8Array> =>
  Redacted.make(new Uint8Array(hkdfSync("sha256", Redacted.value(key), new Uint8Array(0), `nextcloud-mcp ${purpose}`, KEY_BYTES)))
