import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { ProvisioningRequired } from "../../src/domain/Errors.js"
import type { UserId } from "../../src/domain/Ids.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import type { Grant } from "../../src/storage/Storage.js"
import { answerFailure } from "../../src/tools/nextcloudFailures.js"
import { NextcloudConflict, NextcloudForbidden, NextcloudInsufficientStorage, NextcloudLocked, NextcloudNotAllowed, NextcloudNotFound, NextcloudPreconditionFailed, NextcloudProtocolError, NextcloudTransportError, NextcloudUnauthorized, refusal } from "../../src/nextcloud/errors.js"

const grant: Grant = {
  userId: "u1" as UserId,
  loginName: "ada@example.org",
  ncUserId: "ada",
  appPassword: Redacted.make("secret-app-password-value"),
  scopes: null,
  createdAt: 1,
  updatedAt: 1
}

const reported: Array<Grant> = []
const provisioning = Layer.succeed(Provisioning, {
  reportUnauthorized: (g: Grant) => {
    reported.push(g)
    return Effect.fail(new ProvisioningRequired({ message: "provision again" }))
  }
} as unknown as Provisioning["Type"])
const services = Layer.merge(provisioning, NextcloudConfig.make("https://cloud.example.org"))

const op = "Test.op"

describe("refusal", () => {
  it("maps data-route statuses onto service errors", () => {
    expect(refusal(op, 403)._tag).toBe("NextcloudForbidden")
    expect(refusal(op, 404)._tag).toBe("NextcloudNotFound")
    expect(refusal(op, 405)._tag).toBe("NextcloudNotAllowed")
    expect(refusal(op, 409)._tag).toBe("NextcloudConflict")
    expect(refusal(op, 412)._tag).toBe("NextcloudPreconditionFailed")
    expect(refusal(op, 423)._tag).toBe("NextcloudLocked")
    expect(refusal(op, 507)._tag).toBe("NextcloudInsufficientStorage")
    expect(refusal(op, 500)).toMatchObject({ _tag: "NextcloudProtocolError", status: 500 })
    expect(refusal(op, 429)).toMatchObject({ _tag: "NextcloudProtocolError", status: 429 })
  })
})

describe("answerFailure (the adapter's generic answers)", () => {
  const run = (error: Parameters<ReturnType<typeof answerFailure>>[0]) =>
    Effect.flip(answerFailure(grant, "do the thing")(error)).pipe(Effect.provide(services))

  it.effect("maps every service error onto a tool error with a secret-free message", () =>
    Effect.gen(function* () {
      const cases = [
        [new NextcloudTransportError({ operation: op, reason: "timeout", cause: null }), "NextcloudUnreachable"],
        [new NextcloudTransportError({ operation: op, reason: "unreachable", cause: null }), "NextcloudUnreachable"],
        [new NextcloudProtocolError({ operation: op, status: 500, detail: "unexpected status 500" }), "NextcloudError"],
        [new NextcloudNotFound({ operation: op }), "NotFound"],
        [new NextcloudPreconditionFailed({ operation: op }), "Conflict"],
        [new NextcloudConflict({ operation: op }), "NotFound"],
        [new NextcloudNotAllowed({ operation: op }), "Conflict"],
        [new NextcloudForbidden({ operation: op }), "PermissionDenied"],
        [new NextcloudInsufficientStorage({ operation: op }), "QuotaExceeded"],
        [new NextcloudLocked({ operation: op }), "Locked"]
      ] as const
      for (const [input, tag] of cases) {
        const error = yield* run(input)
        expect(error._tag).toBe(tag)
        expect(error.message).toContain("do the thing")
        expect(error.message).not.toContain("secret-app-password-value")
      }
      expect(reported).toHaveLength(0)
    }))

  it.effect("401 goes through the stale-password path", () =>
    Effect.gen(function* () {
      const error = yield* run(new NextcloudUnauthorized({ operation: op }))
      expect(error._tag).toBe("ProvisioningRequired")
      expect(reported).toEqual([grant])
    }))

  it.effect("tool errors already mapped pass through", () =>
    Effect.gen(function* () {
      const mine = new ProvisioningRequired({ message: "x" })
      expect(yield* run(mine)).toBe(mine)
    }))
})
