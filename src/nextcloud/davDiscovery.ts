/**
 * Where a user's calendars and address books live, found the way CalDAV and
 * CardDAV clients find them (RFC 5397, RFC 4791 §6.2.1, RFC 6352 §7.1.1):
 *
 *   PROPFIND <base>/remote.php/dav/   current-user-principal  → the principal
 *   PROPFIND <principal>              calendar-home-set / addressbook-home-set → the home
 *
 * Every href is an absolute path that already carries the installation's
 * sub-path (`/nextcloud/remote.php/dav/calendars/alice/`): it is put on the
 * configured host's origin (`pinnedUrl`), never resolved below the base URL,
 * so sub-path installs do not get the prefix twice and nothing in an href can
 * change the host. When a server does not report a property (some proxies
 * strip PROPFIND on the root), Nextcloud's fixed paths below the base are
 * used instead.
 *
 * Homes are remembered per account (a bounded map), so a tool call costs the
 * discovery requests once per user and process.
 */
import { Effect } from "effect"
import { type DavObjects, CALDAV_NS, CARDDAV_NS, prop, propHrefs } from "./davObjects.js"
import { DAV_NS } from "./davXml.js"
import type { DataCallError } from "./errors.js"
import { underBase } from "./http.js"
import type { DavAccount } from "./Ocs.js"

export type HomeSetKind = "calendar" | "addressbook"

const HOME_SET: Readonly<Record<HomeSetKind, { readonly ns: string; readonly local: string }>> = {
  calendar: { ns: CALDAV_NS, local: "calendar-home-set" },
  addressbook: { ns: CARDDAV_NS, local: "addressbook-home-set" }
}

/** Nextcloud's fixed paths, used only when the server does not name them. */
export const defaultPrincipalPath = (userId: string) => `remote.php/dav/principals/users/${encodeURIComponent(userId)}/`
export const defaultHomePath = (kind: HomeSetKind, userId: string) =>
  kind === "calendar"
    ? `remote.php/dav/calendars/${encodeURIComponent(userId)}/`
    : `remote.php/dav/addressbooks/users/${encodeURIComponent(userId)}/`

/** At most this many accounts' homes are remembered; the oldest entry goes first. */
export const DISCOVERY_CACHE_SIZE = 1000

const withSlash = (url: URL): URL => {
  if (url.pathname.endsWith("/")) return url
  const copy = new URL(url.href)
  copy.pathname = `${copy.pathname}/`
  return copy
}

export const makeDavDiscovery = (dav: DavObjects) => {
  const cache = new Map<string, URL>()
  const remember = (key: string, url: URL) => {
    cache.delete(key)
    cache.set(key, url)
    if (cache.size > DISCOVERY_CACHE_SIZE) {
      const oldest = cache.keys().next().value
      if (oldest !== undefined) cache.delete(oldest)
    }
  }

  /** The first href of a property of the resource at `url` (depth 0), pinned; null when not reported. */
  const firstHref = (operation: string, account: DavAccount, url: URL, ns: string, local: string) =>
    dav.propfind(operation, account, url, "0", [prop(ns, local)]).pipe(
      Effect.flatMap((responses) => {
        const href = responses.flatMap((r) => propHrefs(r, ns, local))[0]
        return href === undefined ? Effect.succeed(null) : Effect.map(dav.urlOf(operation, href), withSlash)
      })
    )

  /** The user's principal URL. */
  const principal = (account: DavAccount): Effect.Effect<URL, DataCallError> => {
    const operation = "DavDiscovery.principal"
    return firstHref(operation, account, underBase(dav.origin, "remote.php/dav/"), DAV_NS, "current-user-principal").pipe(
      Effect.catchTags({ NextcloudNotFound: () => Effect.succeed(null), NextcloudNotAllowed: () => Effect.succeed(null) }),
      Effect.map((url) => url ?? underBase(dav.origin, defaultPrincipalPath(account.userId)))
    )
  }

  /** The user's calendar or address book home (a collection URL ending in `/`). */
  const homeSet = (account: DavAccount, kind: HomeSetKind): Effect.Effect<URL, DataCallError> => {
    const key = `${kind} ${account.loginName} ${account.userId}`
    const known = cache.get(key)
    if (known !== undefined) return Effect.succeed(known)
    const operation = `DavDiscovery.${kind}HomeSet`
    const { ns, local } = HOME_SET[kind]
    return principal(account).pipe(
      Effect.flatMap((url) => firstHref(operation, account, url, ns, local)),
      Effect.map((url) => url ?? underBase(dav.origin, defaultHomePath(kind, account.userId))),
      Effect.tap((url) => Effect.sync(() => remember(key, url)))
    )
  }

  /** Forget an account's homes (after a 404 on a home that moved). */
  const forget = (account: DavAccount) =>
    Effect.sync(() => {
      for (const kind of ["calendar", "addressbook"] as const) cache.delete(`${kind} ${account.loginName} ${account.userId}`)
    })

  return { principal, homeSet, forget } as const
}

export type DavDiscovery = ReturnType<typeof makeDavDiscovery>
