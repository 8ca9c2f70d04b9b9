/**
 * Fakes for unit tests: service implementations that provide only the
 * methods a test needs; any other method is a defect naming itself, so a test
 * notices when the code under test starts using something unexpected.
 */
import { type Context, Effect, Layer, Redacted } from "effect"
import { ScopeCache, type ScopeCacheShape } from "../../src/auth/ScopeCache.js"
import { LoginFlowClient, type LoginFlowClientShape } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { Ocs, type OcsShape } from "../../src/nextcloud/Ocs.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { Storage, type StorageShape } from "../../src/storage/Storage.js"

const unexpected = (service: string, method: string) => Effect.dieMessage(`unexpected call: ${service}.${method}`)

/** Fill every method the partial leaves out with a defect (functions and plain Effect values alike). */
const complete = <S extends object>(service: string, methods: ReadonlyArray<keyof S & string>, values: ReadonlyArray<keyof S & string>, partial: Partial<S>): S => {
  const out: Record<string, unknown> = { ...partial }
  for (const m of methods) if (!(m in out)) out[m] = () => unexpected(service, m)
  for (const v of values) if (!(v in out)) out[v] = unexpected(service, v)
  return out as S
}

const storageMethods: ReadonlyArray<keyof StorageShape & string> = [
  "getGrant",
  "putGrant",
  "completeFlow",
  "updateScopes",
  "setNcUserId",
  "deleteGrant",
  "getFlow",
  "putFlow",
  "deleteFlow",
  "listActiveFlows",
  "deleteExpiredFlows",
  "claimFlows",
  "releaseFlow",
  "recordFlowStart",
  "flowStartsSince",
  "audit",
  "auditCoalesced",
  "auditLog",
  "pruneHistory",
  "reencryptAll"
]

export const fakeStorage = (partial: Partial<StorageShape>): Layer.Layer<Storage> =>
  Layer.succeed(Storage, complete<StorageShape>("Storage", storageMethods, [], partial))

export const fakeLoginFlow = (partial: Partial<LoginFlowClientShape>): Layer.Layer<LoginFlowClient> =>
  Layer.succeed(LoginFlowClient, complete<LoginFlowClientShape>("LoginFlowClient", ["poll"], ["initiate"], partial))

export const fakeOcs = (partial: Partial<OcsShape>): Layer.Layer<Ocs> =>
  Layer.succeed(Ocs, complete<OcsShape>("Ocs", ["currentUser", "revokeAppPassword"], [], partial))

/** A service whose every method is a defect naming itself: for services a test must not reach. */
export const unreachable = <I, S>(tag: Context.Tag<I, S>, service: string): Layer.Layer<I> =>
  Layer.succeed(
    tag,
    new Proxy({} as S & object, {
      get: (_target, method) => () => Effect.dieMessage(`${service}.${String(method)} must not be called`)
    })
  )

/**
 * What the adapter's scope check needs, for tests of what lies around it (the
 * http token gate, the adapter's steps): every user has a grant with no
 * restriction, and no Nextcloud call fails.
 */
export const everyoneGranted: Layer.Layer<ScopeCache | Provisioning | NextcloudConfig> = Layer.mergeAll(
  Layer.succeed(ScopeCache, {
    ...complete<ScopeCacheShape>("ScopeCache", ["get", "invalidate", "forget"], ["invalidateAll", "changes"], {}),
    get: (userId) =>
      Effect.succeedSome({
        userId,
        loginName: userId,
        ncUserId: userId,
        appPassword: Redacted.make("unused"),
        scopes: null,
        createdAt: 0,
        updatedAt: 0
      })
  }),
  unreachable(Provisioning, "Provisioning"),
  NextcloudConfig.make("http://nextcloud.invalid")
)
