/** Shared helpers for the storage tests. */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FastCheck, Redacted } from "effect"
import { UserId } from "../../src/domain/Ids.js"
import { ALL_SCOPES, type Scope } from "../../src/domain/Scope.js"
import type { Grant, PendingFlow } from "../../src/storage/Storage.js"

export const randomKey = (): Redacted.Redacted<Uint8Array> => Redacted.make(new Uint8Array(randomBytes(32)))

export const uid = (s: string): UserId => UserId.make(s)

const made = new Set<string>()

/** A fresh folder under the OS temp dir, removed when the test file is done (`removeTempDirs`). */
export const tempDir = (prefix = "nc-mcp-storage-"): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.add(dir)
  return dir
}

/**
 * Removes the folders `tempDir` made; `test/support/setup.ts` calls it after
 * each file. (A process "exit" listener per folder piled up in the shared
 * workers, and worker threads are ended without that event.)
 */
export const removeTempDirs = (): void => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
  made.clear()
}

export const grant = (userId: string, overrides: Partial<Omit<Grant, "userId">> = {}): Grant => ({
  userId: uid(userId),
  loginName: `${userId}-login`,
  ncUserId: null,
  appPassword: Redacted.make(`pw-${userId}-${randomBytes(8).toString("hex")}`),
  scopes: ["notes.read", "notes.write"],
  createdAt: 1_000,
  updatedAt: 1_000,
  ...overrides
})

export const TWENTY_MINUTES = 20 * 60 * 1000

export const flow = (userId: string, overrides: Partial<Omit<PendingFlow, "userId">> = {}): PendingFlow => {
  const createdAt = overrides.createdAt ?? 1_000
  return {
    userId: uid(userId),
    pollToken: Redacted.make(`poll-${randomBytes(16).toString("hex")}`),
    pollEndpoint: "https://cloud.example/index.php/login/v2/poll",
    loginUrl: Redacted.make(`https://cloud.example/login/v2/flow/${randomBytes(16).toString("hex")}`),
    requestedScopes: null,
    purpose: "provision",
    elicitationId: null,
    createdAt,
    expiresAt: createdAt + TWENTY_MINUTES,
    ...overrides
  }
}

// --- arbitraries ---------------------------------------------------------

export const arbUserId = FastCheck.string({ minLength: 1, maxLength: 64, unit: "binary" }).map((x) => UserId.make(x))

export const arbText = FastCheck.string({ maxLength: 80, unit: "binary" })

/** Distinctive enough never to occur in a database file by chance. */
export const arbSecret = FastCheck.tuple(FastCheck.uuid(), arbText).map(([u, s]) => `${u}${s}`)

export const arbScopes: FastCheck.Arbitrary<ReadonlyArray<Scope> | null> = FastCheck.option(
  FastCheck.uniqueArray(FastCheck.constantFrom(...ALL_SCOPES), { maxLength: ALL_SCOPES.length }).map((a) =>
    [...a].sort()
  ),
  { nil: null }
)

export const arbTime = FastCheck.integer({ min: 0, max: 2 ** 47 })

export const arbGrant: FastCheck.Arbitrary<Grant> = FastCheck.record({
  userId: arbUserId,
  loginName: arbText,
  ncUserId: FastCheck.option(arbText, { nil: null }),
  appPassword: arbSecret.map((s) => Redacted.make(s)),
  scopes: arbScopes,
  createdAt: arbTime,
  updatedAt: arbTime
})

export const arbFlow: FastCheck.Arbitrary<PendingFlow> = FastCheck.record({
  userId: arbUserId,
  pollToken: arbSecret.map((s) => Redacted.make(s)),
  pollEndpoint: arbText,
  loginUrl: arbSecret.map((s) => Redacted.make(`https://cloud.example/login/v2/flow/${s}`)),
  requestedScopes: arbScopes,
  purpose: FastCheck.constantFrom("provision" as const, "update" as const),
  elicitationId: FastCheck.option(arbText, { nil: null }),
  createdAt: arbTime,
  expiresAt: arbTime
})

/** Compare grants by value, secrets included. */
export const plainGrant = (g: Grant) => ({ ...g, appPassword: Redacted.value(g.appPassword) })
export const plainFlow = (f: PendingFlow) => ({
  ...f,
  pollToken: Redacted.value(f.pollToken),
  loginUrl: Redacted.value(f.loginUrl)
})

// --- backends whose text columns cannot hold NUL (PostgreSQL) --------------

/** NUL replaced by U+2400 (same length, so a user id stays non-empty). */
export const noNul = (s: string): string => s.replaceAll("\u0000", "\u2400")

const noNulOrNull = (s: string | null): string | null => (s === null ? null : noNul(s))

export const grantWithoutNul = (g: Grant): Grant => ({
  ...g,
  userId: uid(noNul(g.userId)),
  loginName: noNul(g.loginName),
  ncUserId: noNulOrNull(g.ncUserId)
})

export const flowWithoutNul = (f: PendingFlow): PendingFlow => ({
  ...f,
  userId: uid(noNul(f.userId)),
  pollEndpoint: noNul(f.pollEndpoint),
  elicitationId: noNulOrNull(f.elicitationId)
})
