/**
 * Persistent state: per-user app passwords ("grants"), pending Login Flow v2
 * sessions, flow-start history (rate limits) and the audit log.
 *
 * Secrets (`appPassword`, `pollToken`, `loginUrl`) are `Redacted` here and
 * encrypted at rest by the implementation; nothing else is secret.
 * Times are epoch milliseconds taken from `Clock` by the caller.
 */
import { Context, Data, type Effect, type Option, type Redacted } from "effect"
import type { UserId } from "../domain/Ids.js"
import type { Scope } from "../domain/Scope.js"

export class StorageError extends Data.TaggedError("StorageError")<{
  readonly operation: string
  readonly cause: unknown
}> {}

export interface Grant {
  readonly userId: UserId
  /** Nextcloud login name: the Basic-auth user name for the app password. */
  readonly loginName: string
  /** Nextcloud user id (`/ocs/v2.php/cloud/user` `data.id`), used in DAV paths; null until verified. */
  readonly ncUserId: string | null
  readonly appPassword: Redacted.Redacted<string>
  /** `null` = no additional restriction. */
  readonly scopes: ReadonlyArray<Scope> | null
  readonly createdAt: number
  readonly updatedAt: number
}

export type FlowPurpose = "provision" | "update"

export interface PendingFlow {
  readonly userId: UserId
  readonly pollToken: Redacted.Redacted<string>
  /** Already rewritten onto NEXTCLOUD_HOST's origin. */
  readonly pollEndpoint: string
  /** Already rewritten onto NEXTCLOUD_PUBLIC_URL's origin. Carries the login token, so it is kept secret. */
  readonly loginUrl: Redacted.Redacted<string>
  /** Scopes the grant will carry when the flow completes (`null` = unrestricted). */
  readonly requestedScopes: ReadonlyArray<Scope> | null
  readonly purpose: FlowPurpose
  /** Set when the client opened the URL through URL-mode elicitation, to notify it on completion. */
  readonly elicitationId: string | null
  readonly createdAt: number
  /** createdAt + 20 minutes (Nextcloud's flow lifetime). */
  readonly expiresAt: number
}

export type AuditEvent =
  | "flow_started"
  | "flow_completed"
  | "flow_expired"
  | "flow_declined"
  | "flow_cancelled"
  | "grant_stored"
  | "grant_narrowed"
  | "grant_revoked"
  | "grant_stale"
  | "access_denied"
  | "orphan_revoked"

export interface AuditEntry {
  readonly at: number
  readonly userId: UserId
  readonly event: AuditEvent
  /** Non-secret details (scopes, login name, reason). */
  readonly detail: Readonly<Record<string, unknown>>
}

/** An audit entry as read back: repeats counted into it by {@link StorageShape.auditCoalesced} included. */
export interface AuditRecord extends AuditEntry {
  /** How many times it happened (1 unless repeats were coalesced into it). */
  readonly count: number
  /** When it last happened (= `at` when it happened once). */
  readonly lastAt: number
}

/** How {@link StorageShape.auditCoalesced} groups repeats. */
export interface AuditRepeat {
  /** What makes two entries the same (e.g. the tool and the reason of a refusal); compared together with user and event. */
  readonly key: string
  /** Repeats within one window (times aligned to multiples of it) share a row. */
  readonly windowMs: number
}

/** A stored secret, named by its row and field (never by its value). */
export interface SecretLocation {
  readonly field: "grant.app_password" | "flow.poll_token" | "flow.login_url"
  readonly userId: UserId
}

/** What {@link StorageShape.reencryptAll} did. */
export interface ReencryptReport {
  /** Values rewritten under the current key. */
  readonly reencrypted: number
  /** Values already under the current key, left as they were. */
  readonly current: number
  /** Values another writer changed between reading and rewriting; left as that writer stored them. */
  readonly changed: number
  /** Values no configured key decrypts: left untouched, never deleted. */
  readonly undecryptable: ReadonlyArray<SecretLocation>
}

export interface StorageShape {
  /**
   * The user's grant. A grant whose secret no configured key decrypts is
   * reported as absent, with a warning log naming the user (so the user is
   * asked to provision again instead of every call failing); the row stays
   * until it is replaced or deleted.
   */
  readonly getGrant: (userId: UserId) => Effect.Effect<Option.Option<Grant>, StorageError>
  /** Insert or replace the user's grant atomically; returns the grant it replaced, if any. */
  readonly putGrant: (grant: Grant) => Effect.Effect<Option.Option<Grant>, StorageError>
  /**
   * Complete a flow in one transaction: store the grant, delete the user's
   * pending flow (with `flowCreatedAt`, only if it is still that flow, so a
   * newer one started meanwhile survives). Returns the grant it replaced, if any.
   */
  readonly completeFlow: (grant: Grant, flowCreatedAt?: number) => Effect.Effect<Option.Option<Grant>, StorageError>
  /** Set the scopes of an existing grant; false when the user has none. */
  readonly updateScopes: (
    userId: UserId,
    scopes: ReadonlyArray<Scope> | null,
    at: number
  ) => Effect.Effect<boolean, StorageError>
  /**
   * Set the Nextcloud user id of an existing grant; with `onlyCreatedAt`, only
   * if the stored grant is still that one (the id was looked up with its
   * password, and a replacing grant may belong to another Nextcloud account).
   */
  readonly setNcUserId: (
    userId: UserId,
    ncUserId: string,
    at: number,
    onlyCreatedAt?: number
  ) => Effect.Effect<boolean, StorageError>
  /**
   * Delete the user's grant. With `onlyCreatedAt`, only when the stored grant is
   * still that one (so a stale-password cleanup cannot delete a grant that
   * replaced it meanwhile). Returns the deleted grant.
   */
  readonly deleteGrant: (
    userId: UserId,
    onlyCreatedAt?: number
  ) => Effect.Effect<Option.Option<Grant>, StorageError>

  /** The user's pending flow; one whose secrets do not decrypt is reported absent, with a warning naming the user. */
  readonly getFlow: (userId: UserId) => Effect.Effect<Option.Option<PendingFlow>, StorageError>
  /** Insert or replace the user's one pending flow. */
  readonly putFlow: (flow: PendingFlow) => Effect.Effect<void, StorageError>
  /** Delete the user's flow; with `onlyCreatedAt`, only if it is still that flow. True when a row went. */
  readonly deleteFlow: (userId: UserId, onlyCreatedAt?: number) => Effect.Effect<boolean, StorageError>
  /** Flows not yet expired at `now`, oldest first, at most `limit`. */
  readonly listActiveFlows: (now: number, limit: number) => Effect.Effect<ReadonlyArray<PendingFlow>, StorageError>
  /** Delete flows that expired before `before`; returns how many. */
  readonly deleteExpiredFlows: (before: number) => Effect.Effect<number, StorageError>

  /**
   * Lease up to `limit` flows still active at `now` (`expiresAt > now`) to
   * `owner` until `now + leaseMs`, and return them oldest first. A flow is
   * claimable when it has no lease, its lease ran out (`until <= now`), or
   * `owner` already holds it (the claim renews the lease). Flows nobody holds
   * are taken first (never leased, then those whose lease ran out longest
   * ago), the owner's own last, so with more flows than `limit` successive
   * claims by one owner go round all of them instead of renewing the oldest. Atomic across
   * processes sharing the database: while a lease holds, no other owner gets
   * the flow, so one replica polls it at a time; a replica that dies holding
   * leases loses them when they run out. `putFlow` replacing a flow clears
   * its lease; `getFlow`/`listActiveFlows` ignore leases. Flows whose secrets
   * cannot be decrypted are leased but left out of the result, with a warning.
   */
  readonly claimFlows: (
    owner: string,
    now: number,
    leaseMs: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<PendingFlow>, StorageError>
  /** End `owner`'s lease on the user's flow; false when `owner` does not hold it. */
  readonly releaseFlow: (userId: UserId, owner: string) => Effect.Effect<boolean, StorageError>

  /** Record that the user started a flow (for rate limiting). */
  readonly recordFlowStart: (userId: UserId, at: number) => Effect.Effect<void, StorageError>
  /** Flow starts by the user at or after `since`, oldest first (their times). */
  readonly flowStartsSince: (userId: UserId, since: number) => Effect.Effect<ReadonlyArray<number>, StorageError>

  readonly audit: (entry: AuditEntry) => Effect.Effect<void, StorageError>
  /**
   * Record an entry that may repeat many times (refusals): the first in a
   * window is stored as {@link audit} would; later ones with the same user,
   * event and `repeat.key` in the same window only count into it (`count`,
   * `lastAt`; the first entry's details stay). One atomic statement, so
   * processes sharing the database never lose a count.
   */
  readonly auditCoalesced: (entry: AuditEntry, repeat: AuditRepeat) => Effect.Effect<void, StorageError>
  /** Entries newest first (by `at`), per user or all (`null`), at most `limit`. */
  readonly auditLog: (userId: UserId | null, limit: number) => Effect.Effect<ReadonlyArray<AuditRecord>, StorageError>
  /** Delete audit entries and flow-start records older than `before`; returns how many audit entries went. */
  readonly pruneHistory: (before: number) => Effect.Effect<number, StorageError>

  /**
   * Key rotation: re-encrypt every stored secret (grants' app passwords,
   * flows' poll tokens and login URLs) with the cipher's current key.
   * Secrets are read in batches of `batchSize` rows (default 500) and each
   * batch is rewritten in one transaction. A value is rewritten only if it
   * is still what was read (compare-and-set), so a concurrent writer is
   * never overwritten (counted in `changed`). Values already under the
   * current key are left alone (`current`); values no configured key
   * decrypts are left untouched and listed (`undecryptable`), never
   * deleted. Safe to run again; nothing else in the rows changes.
   */
  readonly reencryptAll: (options?: { readonly batchSize?: number }) => Effect.Effect<ReencryptReport, StorageError>
}

export class Storage extends Context.Tag("nextcloud-mcp/Storage")<Storage, StorageShape>() {}
