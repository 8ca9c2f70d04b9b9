/**
 * Which of the server's apps the caller's Nextcloud has enabled for them
 * (docs/tool-contract.md §7): learnt once per grant from the user's
 * navigation and capabilities (`NextcloudApps`), kept for the scope cache's
 * lifetime, and learnt again when the grant changes (a new login, a
 * replacement). Before provisioning, or while Nextcloud cannot say, nothing
 * is known and every tool is offered: a call then fails, if it must, with the
 * app's own error.
 */
import { Cache, Context, Duration, Effect, Exit, Layer, Option } from "effect"
import { ScopeCache } from "../auth/ScopeCache.js"
import { AppNotAvailable } from "../domain/Errors.js"
import type { UserId } from "../domain/Ids.js"
import { type EnabledApps, NextcloudApps } from "../nextcloud/EnabledApps.js"
import type { Grant } from "../storage/Storage.js"
import { credentialsOf } from "./account.js"

/** How the server recognises an app in a user's Nextcloud (either one present means enabled). */
export interface Presence {
  /** Its id in the user's navigation (`/ocs/v2.php/core/navigation/apps`). */
  readonly navigation?: string
  /** A key of the capabilities (`/ocs/v2.php/cloud/capabilities`). */
  readonly capability?: string
}

/** The app a tool belongs to, as the availability check needs it. */
export interface ToolApp {
  /** The app's id in the scope vocabulary. */
  readonly id: string
  /** Its name for people ("Deck", "News"). */
  readonly name: string
  /** Absent: a core part of Nextcloud, always there. */
  readonly presence?: Presence
}

export const isEnabled = (presence: Presence, apps: EnabledApps): boolean =>
  (presence.navigation !== undefined && apps.navigation.has(presence.navigation)) ||
  (presence.capability !== undefined && apps.capabilities.has(presence.capability))

/** Whether a tool of `app` can be used by a user whose Nextcloud has `apps` (None: not known, so yes). */
export const usable = (app: ToolApp | undefined, apps: Option.Option<EnabledApps>): boolean =>
  app?.presence === undefined || Option.isNone(apps) || isEnabled(app.presence, apps.value)

export interface AppAvailabilityShape {
  /** The apps the user's Nextcloud has enabled for them; None when not known. */
  readonly enabled: (userId: UserId) => Effect.Effect<Option.Option<EnabledApps>>
}

export class AppAvailability extends Context.Tag("nextcloud-mcp/AppAvailability")<AppAvailability, AppAvailabilityShape>() {
  /** How long an answer that Nextcloud could not give is remembered before asking again. */
  static readonly RETRY_AFTER = Duration.seconds(30)

  /**
   * Over the Nextcloud client `NextcloudApps` when it is present; without it
   * (fakes, embedders) nothing is ever known and every tool is offered.
   */
  static readonly layer = (options: { readonly ttl?: Duration.DurationInput } = {}) =>
    Layer.effect(
      AppAvailability,
      Effect.gen(function* () {
        const client = yield* Effect.serviceOption(NextcloudApps)
        const scopeCache = yield* ScopeCache
        if (Option.isNone(client)) return AppAvailability.of({ enabled: () => Effect.succeedNone })
        const ttl = Duration.decode(options.ttl ?? ScopeCache.DEFAULT_TTL)
        const grantOf = (userId: UserId) =>
          scopeCache.get(userId).pipe(Effect.orElseSucceed(() => Option.none<Grant>()))
        const stampOf = (grant: Grant) => `${grant.createdAt}:${grant.updatedAt}:${grant.loginName}`
        const cache = yield* Cache.makeWith({
          capacity: 100_000,
          lookup: (userId: UserId) =>
            Effect.gen(function* () {
              const grant = yield* grantOf(userId)
              if (Option.isNone(grant)) return { stamp: null, apps: Option.none<EnabledApps>() }
              const apps = yield* client.value.enabledApps(credentialsOf(grant.value)).pipe(
                Effect.map(Option.some),
                Effect.catchAll((error) =>
                  Effect.logDebug("could not learn which apps Nextcloud has enabled; offering every tool", {
                    operation: error.operation
                  }).pipe(Effect.as(Option.none<EnabledApps>()))
                )
              )
              return { stamp: stampOf(grant.value), apps }
            }),
          timeToLive: (exit) =>
            Exit.isSuccess(exit) && exit.value.stamp === null
              ? Duration.zero
              : Exit.isSuccess(exit) && Option.isSome(exit.value.apps)
                ? ttl
                : AppAvailability.RETRY_AFTER
        })
        const enabled = (userId: UserId): Effect.Effect<Option.Option<EnabledApps>> =>
          Effect.gen(function* () {
            const grant = yield* grantOf(userId)
            if (Option.isNone(grant)) return Option.none()
            const entry = yield* cache.get(userId)
            if (entry.stamp === stampOf(grant.value)) return entry.apps
            // The grant changed since (a new login, possibly another account): ask again.
            yield* cache.invalidate(userId)
            return (yield* cache.get(userId)).apps
          })
        return AppAvailability.of({ enabled })
      })
    )
}

/** The apps the user's Nextcloud has enabled, when the server knows (None without the service). */
export const enabledAppsOf = (userId: UserId): Effect.Effect<Option.Option<EnabledApps>> =>
  Effect.flatMap(Effect.serviceOption(AppAvailability), (service) =>
    Option.isNone(service) ? Effect.succeedNone : service.value.enabled(userId)
  )

/** Fails with `AppNotAvailable` when the user's Nextcloud is known not to have `app` enabled. */
export const requireApp = (userId: UserId, tool: string, app: ToolApp): Effect.Effect<void, AppNotAvailable> =>
  app.presence === undefined
    ? Effect.void
    : Effect.flatMap(enabledAppsOf(userId), (apps) =>
        usable(app, apps)
          ? Effect.void
          : Effect.fail(
              new AppNotAvailable({
                message: `${app.name} is not enabled in your Nextcloud, so ${tool} cannot be used. Ask your Nextcloud administrator to install or enable the ${app.name} app for your account.`,
                app: app.id
              })
            )
      )
