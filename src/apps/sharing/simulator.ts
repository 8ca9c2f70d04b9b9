/**
 * The Share API in the simulated Nextcloud (docs/nextcloud-protocol.md
 * "Sharing"): `/ocs/v2.php/apps/files_sharing/api/v1/shares` as the
 * files_sharing app answers it — OCS envelopes (JSON or XML) behind the OCS
 * checks (401/997, 412 without `OCS-APIRequest`), the share formatted the way
 * `ShareAPIController::formatShare` does (a link share's `share_with` and
 * `password` hold the password's hash, never the password), refusals as OCS
 * 400/403/404 with Nextcloud's reasons, and the administrator's sharing
 * policy (enforced passwords, default and enforced link expiry, links off),
 * switchable through a hook and published under `files_sharing` and
 * `sharebymail` in `/ocs/v2.php/cloud/capabilities`.
 *
 * The files that can be shared are seeded through a hook (this part does not
 * look into the Files part's store: app parts are independent).
 */
import { createHash, randomBytes } from "node:crypto"
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { Effect, Schema } from "effect"
import { Empty, hook } from "../../simulator/hooks.js"
import { requestOrigin, requestParams } from "../../simulator/http.js"
import { failure, ok, ocsRoute, type OcsReply } from "../../simulator/ocs.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { knownUser, now, SimulatorHookError, type SimState } from "../../simulator/state.js"

export interface SharingPolicyState {
  linksEnabled: boolean
  /** `shareapi_enforce_links_password`: link and mail shares need a password. */
  passwordEnforced: boolean
  /** `shareapi_default_expire_date`: new links get an expiry `expireDateDays` ahead. */
  expireDateDefault: boolean
  /** `shareapi_enforce_expire_date`: links must expire, at most `expireDateDays` ahead. */
  expireDateEnforced: boolean
  expireDateDays: number
}

export interface SimNode {
  readonly id: number
  readonly type: "file" | "folder"
}

export interface SimShare {
  readonly id: number
  readonly shareType: number
  readonly owner: string
  readonly path: string
  readonly nodeId: number
  readonly itemType: "file" | "folder"
  readonly shareWith: string | null
  readonly token: string | null
  /** Unix seconds. */
  readonly stime: number
  permissions: number
  /** YYYY-MM-DD or null. */
  expiration: string | null
  passwordHash: string | null
  note: string
  label: string
}

export interface ShareInfo {
  readonly id: string
  readonly shareType: number
  readonly owner: string
  readonly path: string
  readonly shareWith: string | null
  readonly permissions: number
  readonly expiration: string | null
  readonly hasPassword: boolean
  readonly note: string
  readonly label: string
  readonly token: string | null
}

interface SharingStore {
  readonly shares: Map<number, SimShare>
  /** uid → path ("/a/b") → node. */
  readonly nodes: Map<string, Map<string, SimNode>>
  readonly groups: Set<string>
  readonly policy: SharingPolicyState
}

const DEFAULT_POLICY: SharingPolicyState = {
  linksEnabled: true,
  passwordEnforced: false,
  expireDateDefault: false,
  expireDateEnforced: false,
  expireDateDays: 7
}

const READ = 1
const CREATE = 4
const DELETE = 8
const ALL = 31

/** "/a//b/" → "/a/b"; "" → "/". */
const normalPath = (path: string): string => {
  const segments = path.split("/").filter((s) => s !== "" && s !== ".")
  return `/${segments.join("/")}`
}

const parentOf = (path: string): string => normalPath(path.split("/").slice(0, -1).join("/"))

const nodesOf = (store: SharingStore, userId: string): Map<string, SimNode> => {
  let nodes = store.nodes.get(userId)
  if (nodes === undefined) {
    nodes = new Map([["/", { id: 0, type: "folder" }]])
    store.nodes.set(userId, nodes)
  }
  return nodes
}

const hashPassword = (password: string): string => `$sim$${createHash("sha256").update(password).digest("hex")}`

const day = (at: number): string => new Date(at).toISOString().slice(0, 10)

const addDays = (date: string, days: number): string => {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/** `ShareAPIController::parseDate`: a calendar date, anything after it ignored. */
const parseDate = (text: string): string | null => {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text.trim())
  if (m === null) return null
  const date = `${m[1]}-${m[2]}-${m[3]}`
  const parsed = new Date(`${date}T00:00:00Z`)
  return Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date ? null : date
}

const displayName = (state: SimState, userId: string): string => state.users.get(userId)?.displayName ?? userId

/** `ShareAPIController::formatShare`. */
const format = (state: SimState, origin: string, share: SimShare): Record<string, unknown> => {
  const owner = displayName(state, share.owner)
  const base: Record<string, unknown> = {
    id: String(share.id),
    share_type: share.shareType,
    uid_owner: share.owner,
    displayname_owner: owner,
    permissions: share.permissions,
    can_edit: true,
    can_delete: true,
    stime: share.stime,
    parent: null,
    expiration: share.expiration === null ? null : `${share.expiration} 00:00:00`,
    token: share.token,
    uid_file_owner: share.owner,
    note: share.note,
    label: share.label,
    displayname_file_owner: owner,
    path: share.path,
    item_type: share.itemType,
    mimetype: share.itemType === "folder" ? "httpd/unix-directory" : "application/octet-stream",
    has_preview: false,
    storage_id: `home::${share.owner}`,
    storage: 1,
    item_source: share.nodeId,
    file_source: share.nodeId,
    file_parent: 0,
    file_target: `/${share.path.split("/").pop() ?? ""}`,
    item_size: 0,
    item_mtime: share.stime,
    mail_send: 0,
    hide_download: 0,
    attributes: null
  }
  switch (share.shareType) {
    case 0:
      return { ...base, share_with: share.shareWith, share_with_displayname: displayName(state, share.shareWith ?? "") }
    case 1:
      return { ...base, share_with: share.shareWith, share_with_displayname: share.shareWith }
    case 3:
      // Deprecated since Nextcloud 15 but still sent: the password (hash) in share_with.
      return {
        ...base,
        share_with: share.passwordHash,
        share_with_displayname: share.passwordHash,
        password: share.passwordHash,
        send_password_by_talk: false,
        url: `${origin}/index.php/s/${share.token}`
      }
    default:
      return {
        ...base,
        share_with: share.shareWith,
        share_with_displayname: share.shareWith,
        password: share.passwordHash,
        send_password_by_talk: false
      }
  }
}

const info = (share: SimShare): ShareInfo => ({
  id: String(share.id),
  shareType: share.shareType,
  owner: share.owner,
  path: share.path,
  shareWith: share.shareWith,
  permissions: share.permissions,
  expiration: share.expiration,
  hasPassword: share.passwordHash !== null,
  note: share.note,
  label: share.label,
  token: share.token
})

/** The expiry checks of `Share20\Manager::validateExpirationDateLink`; the date to store, or the refusal. */
const linkExpiry = (
  policy: SharingPolicyState,
  today: string,
  requested: string | null,
  isNew: boolean
): { readonly date: string | null } | { readonly refused: OcsReply } => {
  if (requested !== null && requested <= today) return { refused: failure(404, 404, "Expiration date is in the past") }
  let date = requested
  if (isNew && date === null && (policy.expireDateDefault || policy.expireDateEnforced)) date = addDays(today, policy.expireDateDays)
  if (policy.expireDateEnforced) {
    if (date === null) return { refused: failure(403, 403, "Expiration date is enforced") }
    if (date > addDays(today, policy.expireDateDays)) {
      return { refused: failure(404, 404, `Cannot set expiration date more than ${policy.expireDateDays} days in the future`) }
    }
  }
  return { date }
}

const isLinkOrMail = (shareType: number) => shareType === 3 || shareType === 4

const EMAIL = /^[^@\s]+@[^@\s]+$/

type Params = ReadonlyMap<string, string>

const create = (state: SimState, store: SharingStore, userId: string, origin: string, params: Params, at: number): OcsReply => {
  const rawPath = params.get("path")
  if (rawPath === undefined) return failure(404, 404, "Please specify a file or folder path")
  const path = normalPath(rawPath)
  const node = nodesOf(store, userId).get(path)
  if (node === undefined || path === "/") return failure(404, 404, "Wrong path, file/folder doesn't exist")
  const shareType = Number(params.get("shareType") ?? "-1")
  const rawPermissions = params.get("permissions")
  let permissions = rawPermissions === undefined ? (isLinkOrMail(shareType) ? READ : ALL) : Number(rawPermissions)
  if (!Number.isInteger(permissions) || permissions < 0 || permissions > ALL) return failure(404, 404, "Invalid permissions")
  // Shares always need read or create permission; files never get create or delete.
  if ((permissions & (READ | CREATE)) === 0) permissions |= READ
  if (node.type === "file") permissions &= ~(CREATE | DELETE)
  const shareWith = params.get("shareWith") ?? null
  const password = params.get("password") ?? ""
  const rawExpiry = params.get("expireDate") ?? ""
  const expiry = rawExpiry === "" ? null : parseDate(rawExpiry)
  if (rawExpiry !== "" && expiry === null) return failure(404, 404, "Invalid date. Format must be YYYY-MM-DD")
  const policy = store.policy
  const today = day(at)
  let expiration = expiry
  switch (shareType) {
    case 0:
      if (shareWith === null || !state.users.has(shareWith)) return failure(404, 404, "Please specify a valid account to share with")
      if (shareWith === userId) return failure(403, 403, "Cannot share with yourself")
      if ([...store.shares.values()].some((s) => s.shareType === 0 && s.path === path && s.owner === userId && s.shareWith === shareWith)) {
        return failure(403, 403, `Sharing ${path.split("/").pop()} failed, because this item is already shared with the account ${shareWith}`)
      }
      break
    case 1:
      if (shareWith === null || !store.groups.has(shareWith)) return failure(404, 404, "Please specify a valid group")
      break
    case 3:
    case 4: {
      if (shareType === 3 && !policy.linksEnabled) return failure(404, 404, "Public link sharing is disabled by the administrator")
      if (shareType === 4 && (shareWith === null || !EMAIL.test(shareWith))) return failure(400, 400, "Please specify a valid email address")
      if (password === "" && policy.passwordEnforced) return failure(403, 403, "Passwords are enforced for link and mail shares")
      if (shareType === 3) {
        const checked = linkExpiry(policy, today, expiry, true)
        if ("refused" in checked) return checked.refused
        expiration = checked.date
      } else if (expiry !== null && expiry <= today) {
        return failure(404, 404, "Expiration date is in the past")
      }
      break
    }
    default:
      return failure(400, 400, "Unknown share type")
  }
  if ((shareType === 0 || shareType === 1) && expiry !== null && expiry <= today) return failure(404, 404, "Expiration date is in the past")
  const share: SimShare = {
    id: state.nextId++,
    shareType,
    owner: userId,
    path,
    nodeId: node.id,
    itemType: node.type,
    shareWith: shareType === 3 ? null : shareWith,
    token: isLinkOrMail(shareType) ? randomBytes(12).toString("base64url").slice(0, 15) : null,
    stime: Math.floor(at / 1000),
    permissions,
    expiration,
    passwordHash: isLinkOrMail(shareType) && password !== "" ? hashPassword(password) : null,
    note: params.get("note") ?? "",
    label: shareType === 3 ? (params.get("label") ?? "") : ""
  }
  store.shares.set(share.id, share)
  return ok(format(state, origin, share))
}

const mine = (store: SharingStore, userId: string, rawId: string | undefined): SimShare | undefined => {
  if (rawId === undefined || !/^\d{1,15}$/.test(rawId)) return undefined
  const share = store.shares.get(Number(rawId))
  return share !== undefined && share.owner === userId ? share : undefined
}

const wrongId = failure(404, 404, "Wrong share ID, share doesn't exist")

const update = (state: SimState, store: SharingStore, share: SimShare, origin: string, params: Params, at: number): OcsReply => {
  const keys = ["permissions", "password", "expireDate", "note", "label", "publicUpload", "hideDownload"]
  if (!keys.some((k) => params.has(k))) return failure(400, 400, "Wrong or no update parameter given")
  const node = nodesOf(store, share.owner).get(share.path)
  let permissions = share.permissions
  const rawPermissions = params.get("permissions")
  if (rawPermissions !== undefined) {
    permissions = Number(rawPermissions)
    if (!Number.isInteger(permissions) || permissions < 0 || permissions > ALL) return failure(400, 400, "Invalid permissions")
    if (share.shareType !== 3 && share.shareType !== 4 && (permissions & READ) === 0) {
      return failure(400, 400, "Shares need at least read permissions")
    }
    if (node?.type === "file" && (permissions & (CREATE | DELETE)) !== 0) {
      return failure(400, 400, "File shares cannot have create or delete permissions")
    }
  }
  let passwordHash = share.passwordHash
  const password = params.get("password")
  if (password !== undefined && isLinkOrMail(share.shareType)) passwordHash = password === "" ? null : hashPassword(password)
  if (isLinkOrMail(share.shareType) && passwordHash === null && store.policy.passwordEnforced) {
    return failure(400, 400, "Passwords are enforced for link and mail shares")
  }
  let expiration = share.expiration
  const rawExpiry = params.get("expireDate")
  if (rawExpiry !== undefined) {
    const expiry = rawExpiry === "" ? null : parseDate(rawExpiry)
    if (rawExpiry !== "" && expiry === null) return failure(400, 400, "Invalid date. Format must be YYYY-MM-DD")
    if (share.shareType === 3) {
      const checked = linkExpiry(store.policy, day(at), expiry, false)
      if ("refused" in checked) {
        // Share20\Manager::updateShare: a plain exception becomes a 400.
        return checked.refused.httpStatus === 403 ? failure(400, 400, checked.refused.message) : checked.refused
      }
      expiration = checked.date
    } else {
      if (expiry !== null && expiry <= day(at)) return failure(404, 404, "Expiration date is in the past")
      expiration = expiry
    }
  }
  share.permissions = permissions
  share.passwordHash = passwordHash
  share.expiration = expiration
  const note = params.get("note")
  if (note !== undefined) share.note = note
  const label = params.get("label")
  if (label !== undefined && share.shareType === 3) share.label = label
  return ok(format(state, origin, share))
}

const list = (state: SimState, store: SharingStore, userId: string, origin: string, params: Params): OcsReply => {
  const rawPath = params.get("path")
  const subfiles = params.get("subfiles") === "true"
  let shares = [...store.shares.values()].filter((s) => s.owner === userId)
  if (rawPath !== undefined) {
    const path = normalPath(rawPath)
    const node = nodesOf(store, userId).get(path)
    if (node === undefined) return failure(404, 404, "Wrong path, file/folder doesn't exist")
    if (subfiles) {
      if (node.type !== "folder") return failure(400, 400, "Not a directory")
      shares = shares.filter((s) => s.path !== path && parentOf(s.path) === path)
    } else {
      shares = shares.filter((s) => s.path === path)
    }
  }
  return ok(shares.sort((a, b) => a.id - b.id).map((s) => format(state, origin, s)))
}

const SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"

const sharingRoutes = (state: SimState, store: SharingStore): HttpRouter.HttpRouter => {
  /** An OCS route of the Share API with the request's merged parameters and the clock. */
  const route = (handle: (userId: string, origin: string, params: Params, at: number, id: string | undefined) => OcsReply) =>
    ocsRoute(state, (auth) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const routeParams = yield* HttpRouter.params
        const params = yield* requestParams(request)
        const at = yield* now(state)
        return handle(auth.user.userId, requestOrigin(state, request), params, at, routeParams["id"])
      })
    )
  return HttpRouter.empty.pipe(
    HttpRouter.get(SHARES, route((userId, origin, params) => list(state, store, userId, origin, params))),
    HttpRouter.post(SHARES, route((userId, origin, params, at) => create(state, store, userId, origin, params, at))),
    HttpRouter.get(
      `${SHARES}/:id`,
      route((userId, origin, _params, _at, id) => {
        const share = mine(store, userId, id)
        return share === undefined ? wrongId : ok([format(state, origin, share)])
      })
    ),
    HttpRouter.put(
      `${SHARES}/:id`,
      route((userId, origin, params, at, id) => {
        const share = mine(store, userId, id)
        return share === undefined ? wrongId : update(state, store, share, origin, params, at)
      })
    ),
    HttpRouter.del(
      `${SHARES}/:id`,
      route((userId, _origin, _params, _at, id) => {
        const share = mine(store, userId, id)
        if (share === undefined) return wrongId
        store.shares.delete(share.id)
        return ok([])
      })
    )
  )
}

/** `files_sharing` and `sharebymail` as `cloud/capabilities` shows them. */
const capabilitiesOf = (policy: SharingPolicyState): Record<string, unknown> => ({
  files_sharing: {
    api_enabled: true,
    public: {
      enabled: policy.linksEnabled,
      password: { enforced: policy.passwordEnforced, askForOptionalPassword: false },
      expire_date:
        policy.expireDateDefault || policy.expireDateEnforced
          ? { enabled: true, days: policy.expireDateDays, enforced: policy.expireDateEnforced }
          : { enabled: false },
      multiple_links: true,
      expire_date_internal: { enabled: false },
      expire_date_remote: { enabled: false },
      send_mail: false,
      upload: true,
      upload_files_drop: true
    },
    resharing: true,
    user: { send_mail: false, expire_date: { enabled: true } },
    group_sharing: true,
    group: { enabled: true, expire_date: { enabled: true } },
    default_permissions: ALL,
    federation: { outgoing: false, incoming: false, expire_date: { enabled: false }, expire_date_supported: { enabled: false } },
    sharee: { query_lookup_default: false, always_show_unique: true }
  },
  sharebymail: {
    enabled: true,
    send_password_by_mail: true,
    upload_files_drop: { enabled: true },
    password: { enabled: true, enforced: policy.passwordEnforced },
    expire_date: { enabled: true, enforced: policy.expireDateEnforced }
  }
})

const ROUTE_KEYS = ["sharing.list", "sharing.create", "sharing.get", "sharing.update", "sharing.delete", "sharing.other"] as const

const routeKey = (method: string, path: string) => {
  if (path === SHARES) return method === "GET" ? "sharing.list" : method === "POST" ? "sharing.create" : "sharing.other"
  if (path.startsWith(`${SHARES}/`)) {
    return method === "GET" ? "sharing.get" : method === "PUT" ? "sharing.update" : method === "DELETE" ? "sharing.delete" : "sharing.other"
  }
  return undefined
}

// ---------------------------------------------------------------------------
// Hooks

export interface SeedNode {
  readonly userId: string
  /** Relative to the user's files, e.g. "/Documents/report.pdf"; missing parent folders are added. */
  readonly path: string
  readonly type?: "file" | "folder" | undefined
}

export interface SharingControl {
  /** A file or folder the user can share. */
  readonly seedShareable: (input: SeedNode) => Effect.Effect<{ readonly path: string; readonly id: number }, SimulatorHookError>
  /** A group users can share with. */
  readonly addShareGroup: (groupId: string) => Effect.Effect<void, SimulatorHookError>
  /** Change the administrator's sharing settings; answers the whole policy. */
  readonly setSharingPolicy: (patch: Partial<SharingPolicyState>) => Effect.Effect<SharingPolicyState, SimulatorHookError>
  /** Every share a user made, oldest first. */
  readonly listShares: (userId: string) => Effect.Effect<ReadonlyArray<ShareInfo>, SimulatorHookError>
}

const makeControl = (state: SimState, store: SharingStore): SharingControl => ({
  seedShareable: Effect.fn("Simulator.seedShareable")(function* (input: SeedNode) {
    yield* knownUser(state, input.userId)
    const path = normalPath(input.path)
    if (path === "/") return yield* new SimulatorHookError({ reason: "InvalidRequest", message: "The root folder cannot be shared" })
    const nodes = nodesOf(store, input.userId)
    const segments = path.split("/").slice(1)
    for (let i = 1; i < segments.length; i++) {
      const parent = `/${segments.slice(0, i).join("/")}`
      if (!nodes.has(parent)) nodes.set(parent, { id: state.nextId++, type: "folder" })
    }
    const node = nodes.get(path) ?? { id: state.nextId++, type: input.type ?? "file" }
    nodes.set(path, node)
    return { path, id: node.id }
  }),
  addShareGroup: (groupId) => Effect.sync(() => void store.groups.add(groupId)),
  setSharingPolicy: (patch) =>
    Effect.sync(() => {
      Object.assign(store.policy, patch)
      return { ...store.policy }
    }),
  listShares: Effect.fn("Simulator.listShares")(function* (userId: string) {
    yield* knownUser(state, userId)
    return [...store.shares.values()].filter((s) => s.owner === userId).sort((a, b) => a.id - b.id).map(info)
  })
})

const NodeBody = Schema.Struct({
  userId: Schema.String,
  path: Schema.String,
  type: Schema.optional(Schema.Literal("file", "folder"))
})
const GroupBody = Schema.Struct({ groupId: Schema.String.pipe(Schema.minLength(1)) })
const exact = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })
const PolicyBody = Schema.Struct({
  linksEnabled: exact(Schema.Boolean),
  passwordEnforced: exact(Schema.Boolean),
  expireDateDefault: exact(Schema.Boolean),
  expireDateEnforced: exact(Schema.Boolean),
  expireDateDays: exact(Schema.Number.pipe(Schema.int(), Schema.positive()))
})

const hookRoutes = (control: SharingControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/__sim/sharing/nodes", hook(NodeBody, (input) => control.seedShareable(input), 201)),
    HttpRouter.post("/__sim/sharing/groups", hook(GroupBody, (input) => control.addShareGroup(input.groupId), 201)),
    HttpRouter.post("/__sim/sharing/policy", hook(PolicyBody, (input) => control.setSharingPolicy(input))),
    HttpRouter.get("/__sim/users/:userId/shares", hook(Empty, (_, params) => control.listShares(params["userId"] ?? "")))
  )

export const sharingSimulator: SimulatorApp<SharingControl> = {
  // No navigation entry of its own: it shows in the capabilities (which the mounted part reports).
  nextcloudApp: { id: "files_sharing" },
  routeKeys: ROUTE_KEYS,
  routeKey,
  hookEndpoints: [
    "POST   /__sim/sharing/nodes                    {userId, path, type?: file|folder} a file or folder to share",
    "POST   /__sim/sharing/groups                   {groupId}",
    "POST   /__sim/sharing/policy                   {linksEnabled?, passwordEnforced?, expireDateDefault?, expireDateEnforced?, expireDateDays?}",
    "GET    /__sim/users/{userId}/shares            a user's shares (Share API)"
  ],
  mount: (state) => {
    const store: SharingStore = { shares: new Map(), nodes: new Map(), groups: new Set(), policy: { ...DEFAULT_POLICY } }
    const control = makeControl(state, store)
    return {
      routes: sharingRoutes(state, store),
      hooks: hookRoutes(control),
      control,
      capabilities: () => capabilitiesOf(store.policy)
    }
  },
  remote: (call) => ({
    seedShareable: (input) => call("POST", "/sharing/nodes", input),
    addShareGroup: (groupId) => call("POST", "/sharing/groups", { groupId }).then(() => undefined),
    setSharingPolicy: (patch) => call("POST", "/sharing/policy", patch),
    listShares: (userId) => call("GET", `/users/${encodeURIComponent(userId)}/shares`)
  })
}
