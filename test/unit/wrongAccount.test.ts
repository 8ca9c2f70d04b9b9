/**
 * A login that would replace a grant must come from the grant's Nextcloud
 * account. Approved by another account, it changes nothing: the grant stays,
 * the new app password is revoked at Nextcloud, the refusal is audited, and
 * `nc_auth_check_status` (also one that was waiting) says what happened. The
 * same account signing in under another login name (its email, other case)
 * replaces the grant as before.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { NextcloudTransportError } from "../../src/nextcloud/errors.js"
import { Ocs } from "../../src/nextcloud/Ocs.js"
import { sameAccount } from "../../src/provisioning/flowRules.js"
import { makePoller } from "../../src/provisioning/Poller.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { WRONG_ACCOUNT_REASON } from "../../src/provisioning/WrongAccountNotices.js"
import { Storage } from "../../src/storage/Storage.js"
import { checkStatus } from "../../src/tools/auth.js"
import { type FakeNextcloud, makeFakeNextcloud } from "../support/fakeNextcloud.js"
import {
  alice,
  loginUrlOf,
  provision,
  type Services,
  servicesFor,
  statusNow,
  storedFlow,
  storedGrant
} from "../support/provisioningHarness.js"

/** Nextcloud accounts by login name: alice signs in as "alice", "ALICE" or her email; ada by her email. */
const ACCOUNTS: Record<string, string> = {
  alice: "alice",
  ALICE: "alice",
  "alice@example.org": "alice",
  "ada@example.org": "ada-5c7e"
}

/** The scripted Nextcloud with a /cloud/user that knows the accounts above (and can be down). */
const withAccounts = (nc: FakeNextcloud) => {
  const whoami = { down: false }
  const ocs = Layer.succeed(Ocs, {
    currentUser: (credentials) =>
      whoami.down
        ? Effect.fail(new NextcloudTransportError({ operation: "currentUser", reason: "unreachable", cause: null }))
        : Effect.succeed({ id: ACCOUNTS[credentials.loginName] ?? credentials.loginName, displayName: null }),
    revokeAppPassword: (credentials) => Effect.sync(() => void nc.revoked.push(Redacted.value(credentials.appPassword)))
  })
  return { nc: { ...nc, layer: Layer.merge(nc.layer, ocs) }, whoami }
}

const run = <A, E>(body: (nc: FakeNextcloud, whoami: { down: boolean }) => Effect.Effect<A, E, Services>) =>
  Effect.suspend(() => {
    const { nc, whoami } = withAccounts(makeFakeNextcloud())
    return body(nc, whoami).pipe(Effect.provide(servicesFor(nc)))
  })

/** alice provisioned with notes.read as `loginName`, then a pending login adding files.read; returns both. */
const wideningPending = (nc: FakeNextcloud, loginName = "alice") =>
  Effect.gen(function* () {
    const password = nc.grant(loginUrlOf(yield* provision(["notes.read"])), loginName)
    expect((yield* statusNow).status).toBe("provisioned")
    const widening = yield* Effect.flatMap(Provisioning, (p) => p.updateScopes(alice, ["files.read"], []))
    return { password, loginUrl: loginUrlOf(widening) }
  })

const auditLog = Effect.flatMap(Storage, (s) => s.auditLog(alice, 100))

describe("the same Nextcloud account", () => {
  const account = fc.record({
    loginName: fc.constantFrom("alice", "ALICE", "Alice", "alice@example.org", "ada@example.org", "ada"),
    ncUserId: fc.option(fc.constantFrom("alice", "ada-5c7e"), { nil: null })
  })

  it.prop("the user id decides when both are known, else the login name regardless of case; symmetric", [account, account], ([a, b]) => {
    const expected =
      a.ncUserId !== null && b.ncUserId !== null ? a.ncUserId === b.ncUserId : a.loginName.toLowerCase() === b.loginName.toLowerCase()
    expect(sameAccount(a, b)).toBe(expected)
    expect(sameAccount(b, a)).toBe(expected)
  })
})

describe("a widening approved by another account", () => {
  it.effect("keeps the grant, revokes the new password, audits, and check_status says so once", () =>
    run((nc) =>
      Effect.gen(function* () {
        const { password, loginUrl } = yield* wideningPending(nc)
        const adas = nc.grant(loginUrl, "ada@example.org")

        const refused = yield* Effect.flip(statusNow)
        expect(refused._tag).toBe("LoginWrongAccount")
        expect(refused.message).toContain(`approved in Nextcloud as "ada@example.org"`)
        expect(refused.message).toContain(`belongs to the Nextcloud account "alice"`)
        expect(refused.message).toContain("Nothing changed")
        expect(refused.message).toContain("notes.read")
        expect(refused.message).toContain("nc_auth_update_scopes")

        const grant = Option.getOrThrow(yield* storedGrant)
        expect([grant.loginName, Redacted.value(grant.appPassword), grant.scopes]).toEqual(["alice", password, ["notes.read"]])
        expect(nc.revoked).toEqual([adas])
        expect(Option.isNone(yield* storedFlow)).toBe(true)
        const entry = (yield* auditLog).find((e) => e.event === "flow_declined")
        expect(entry?.detail).toMatchObject({ reason: "other_account", login_name: "ada@example.org", remote_revoked: true })
        expect(JSON.stringify(yield* auditLog)).not.toContain(adas)

        // Told to everyone asking within a moment (other waiters of the same user), then the plain status.
        expect((yield* Effect.flip(statusNow))._tag).toBe("LoginWrongAccount")
        yield* TestClock.adjust("1 minute")
        const after = yield* statusNow
        expect(after.status === "provisioned" && after.grant.loginName).toBe("alice")
      })
    )
  )

  it.effect("a client waiting in nc_auth_check_status is told when the background poller sees it", () =>
    run((nc) =>
      Effect.gen(function* () {
        const { loginUrl } = yield* wideningPending(nc)
        yield* makePoller
        const waiting = yield* Effect.fork(Effect.flip(checkStatus.handler({ wait_seconds: 60 }, { tool: checkStatus.name })))
        nc.grant(loginUrl, "ada@example.org")
        yield* TestClock.adjust("10 seconds")
        const told = yield* Fiber.join(waiting)
        expect(told._tag).toBe("LoginWrongAccount")
        expect(told.message).toContain("ada@example.org")
      }).pipe(Effect.scoped)
    )
  )

  it.effect("refused by another process sharing the database: read back from the audit log for a login shown here", () =>
    run((nc) =>
      Effect.gen(function* () {
        const { loginUrl } = yield* wideningPending(nc)
        const flow = Option.getOrThrow(yield* storedFlow)
        expect(loginUrl).toBe(Redacted.value(flow.loginUrl))
        // What the other process leaves behind: no flow, the grant unchanged, the audit entry.
        const storage = yield* Storage
        yield* storage.deleteFlow(alice, flow.createdAt)
        yield* storage.audit({
          at: flow.createdAt + 1,
          userId: alice,
          event: "flow_declined",
          detail: {
            purpose: "update",
            reason: WRONG_ACCOUNT_REASON,
            flow_created_at: flow.createdAt,
            scopes: ["files.read", "notes.read"],
            login_name: "ada@example.org",
            account_login_name: "alice",
            remote_revoked: false
          }
        })
        const refused = yield* Effect.flip(statusNow)
        expect(refused._tag).toBe("LoginWrongAccount")
        expect(refused.message).toContain(`approved in Nextcloud as "ada@example.org"`)
        expect(refused.message).toContain(`could not be revoked at Nextcloud: remove it under Settings → Security while signed in as "ada@example.org"`)
      })
    )
  )

  it.effect("with the new login's user id unknown, a login name that differs counts as another account", () =>
    run((nc, whoami) =>
      Effect.gen(function* () {
        const { password, loginUrl } = yield* wideningPending(nc)
        whoami.down = true
        nc.grant(loginUrl, "alice@example.org")
        expect((yield* Effect.flip(statusNow))._tag).toBe("LoginWrongAccount")
        expect(Redacted.value(Option.getOrThrow(yield* storedGrant).appPassword)).toBe(password)
      })
    )
  )
})

describe("the same account under another login name", () => {
  for (const loginName of ["alice@example.org", "ALICE"]) {
    it.effect(`"${loginName}" replaces the grant and the old password is revoked`, () =>
      run((nc) =>
        Effect.gen(function* () {
          const { password, loginUrl } = yield* wideningPending(nc)
          const next = nc.grant(loginUrl, loginName)
          const done = yield* statusNow
          expect(done.status).toBe("provisioned")
          const grant = Option.getOrThrow(yield* storedGrant)
          expect([grant.loginName, grant.ncUserId, Redacted.value(grant.appPassword), grant.scopes]).toEqual([
            loginName,
            "alice",
            next,
            ["files.read", "notes.read"]
          ])
          expect(nc.revoked).toEqual([password])
        })
      )
    )
  }

  it.effect("with the user id unknown, the same login name in another case is the same account", () =>
    run((nc, whoami) =>
      Effect.gen(function* () {
        const { loginUrl } = yield* wideningPending(nc, "alice")
        whoami.down = true
        const next = nc.grant(loginUrl, "ALICE")
        expect((yield* statusNow).status).toBe("provisioned")
        expect(Redacted.value(Option.getOrThrow(yield* storedGrant).appPassword)).toBe(next)
      })
    )
  )
})
