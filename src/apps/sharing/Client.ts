/**
 * Nextcloud's OCS Share API v1 (`/ocs/v2.php/apps/files_sharing/api/v1/shares`,
 * docs/nextcloud-protocol.md "Sharing"), called with the user's app password
 * as Basic auth, `OCS-APIRequest: true` and `format=json`.
 *
 * Through `/ocs/v2.php` the HTTP status is the OCS status: a refusal comes
 * back as 400, 403 or 404 with the reason in `ocs.meta.message`, which this
 * client hands on as `ShareRefused` (the tools explain it, reading the
 * sharing policy from the capabilities when the reason is a policy). Reads are
 * retried on a refused connection or a 5xx; writes are not.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Data, Effect, Layer, Schema } from "effect"
import { makeCaller } from "../../nextcloud/call.js"
import { type DataCallError, NextcloudUnauthorized, refusal, unexpectedStatus } from "../../nextcloud/errors.js"
import { decodeJsonBody, type NextcloudResponse, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"

/** The share types the tools create (`OCP\Share\IShare::TYPE_*`). */
export const SHARE_TYPES = { user: 0, group: 1, link: 3, email: 4 } as const
export type ShareTypeName = keyof typeof SHARE_TYPES

const Id = Schema.Union(Schema.String, Schema.Number).pipe(
  Schema.transform(Schema.String, { strict: true, decode: (id) => String(id), encode: (id) => id })
)
const OptionalText = Schema.optional(Schema.NullOr(Schema.String))

/** A share as the API formats it (the fields this product uses). */
export const Share = Schema.Struct({
  id: Id,
  share_type: Schema.Number,
  uid_owner: Schema.String,
  displayname_owner: OptionalText,
  permissions: Schema.Number,
  /** Unix seconds. */
  stime: Schema.Number,
  /** "YYYY-MM-DD 00:00:00" or null. */
  expiration: Schema.NullOr(Schema.String),
  path: Schema.String,
  item_type: Schema.String,
  item_source: Schema.optional(Schema.Number),
  /** For a link share this is the password's hash (or null): never shown. */
  share_with: OptionalText,
  share_with_displayname: OptionalText,
  /** The password's hash (link and email shares) or null: only its presence is used. */
  password: OptionalText,
  note: OptionalText,
  label: OptionalText,
  /** Link shares: the public URL. */
  url: OptionalText
})
export type Share = typeof Share.Type

const Meta = Schema.Struct({ statuscode: Schema.Number, message: Schema.optional(Schema.NullOr(Schema.String)) })
const Envelope = <A, I>(data: Schema.Schema<A, I>) => Schema.Struct({ ocs: Schema.Struct({ meta: Meta, data }) })
const MetaOnly = Schema.Struct({ ocs: Schema.Struct({ meta: Meta }) })

/** What the capabilities say about sharing (`files_sharing`, `sharebymail`). */
export interface SharingPolicy {
  /** Public links may be created at all. */
  readonly linksEnabled: boolean
  readonly linkPasswordEnforced: boolean
  /** An expiry is set by default on links. */
  readonly linkExpiryDefault: boolean
  readonly linkExpiryEnforced: boolean
  /** The default (and, when enforced, the longest) lifetime of a link in days. */
  readonly linkExpiryDays: number | null
  readonly mailPasswordEnforced: boolean
}

const Flag = Schema.optional(Schema.Boolean)
const Capabilities = Envelope(
  Schema.Struct({
    capabilities: Schema.Struct({
      files_sharing: Schema.optional(
        Schema.Struct({
          public: Schema.optional(
            Schema.Struct({
              enabled: Flag,
              password: Schema.optional(Schema.Struct({ enforced: Flag })),
              expire_date: Schema.optional(
                Schema.Struct({ enabled: Flag, enforced: Flag, days: Schema.optional(Schema.Union(Schema.Number, Schema.String)) })
              )
            })
          )
        })
      ),
      sharebymail: Schema.optional(
        Schema.Struct({ password: Schema.optional(Schema.Struct({ enforced: Flag })) })
      )
    })
  })
)

/** Nextcloud refused a share request (OCS 400, 403 or 404); `reason` is its `ocs.meta.message`, shortened. */
export class ShareRefused extends Data.TaggedError("ShareRefused")<{
  readonly operation: string
  readonly status: number
  readonly reason: string
}> {}

export type ShareCallError = DataCallError | ShareRefused

export interface ListSharesOptions {
  /** Only the shares of this file or folder (relative to the user's files). */
  readonly path?: string | undefined
  /** Also shares by others of the user's files. */
  readonly reshares?: boolean | undefined
  /** With `path` a folder: the shares of everything directly inside it. */
  readonly subfiles?: boolean | undefined
}

export interface CreateShareInput {
  readonly path: string
  readonly shareType: ShareTypeName
  /** User id, group id or email address; never sent for a public link. */
  readonly shareWith?: string | undefined
  readonly permissions?: number | undefined
  readonly password?: string | undefined
  /** YYYY-MM-DD. */
  readonly expireDate?: string | undefined
  readonly note?: string | undefined
  readonly label?: string | undefined
}

export interface UpdateShareInput {
  readonly permissions?: number | undefined
  /** "" removes the password. */
  readonly password?: string | undefined
  /** YYYY-MM-DD; "" removes the expiry. */
  readonly expireDate?: string | undefined
  readonly note?: string | undefined
  readonly label?: string | undefined
}

export interface SharingShape {
  readonly list: (credentials: Credentials, options?: ListSharesOptions) => Effect.Effect<ReadonlyArray<Share>, ShareCallError>
  readonly get: (credentials: Credentials, id: string) => Effect.Effect<Share, ShareCallError>
  readonly create: (credentials: Credentials, input: CreateShareInput) => Effect.Effect<Share, ShareCallError>
  readonly update: (credentials: Credentials, id: string, input: UpdateShareInput) => Effect.Effect<Share, ShareCallError>
  readonly delete: (credentials: Credentials, id: string) => Effect.Effect<void, ShareCallError>
  /** The sharing policy, from `/ocs/v2.php/cloud/capabilities`. */
  readonly policy: (credentials: Credentials) => Effect.Effect<SharingPolicy, DataCallError>
}

export class Sharing extends Context.Tag("nextcloud-mcp/Sharing")<Sharing, SharingShape>() {}

const SHARES_PATH = "ocs/v2.php/apps/files_sharing/api/v1/shares"
const CAPABILITIES_PATH = "ocs/v2.php/cloud/capabilities"
const OCS_UNAUTHORISED = 997

const shortReason = (text: string | null | undefined): string => {
  const reason = (text ?? "").replace(/\s+/g, " ").trim()
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason
}

/** The OCS answer's verdict: 200 with statuscode 100/200 passes; a refusal keeps Nextcloud's reason. */
const checkOcs = (operation: string) => (response: NextcloudResponse): Effect.Effect<NextcloudResponse, ShareCallError> => {
  if (response.status === 401) return Effect.fail(new NextcloudUnauthorized({ operation }))
  const meta = Schema.decodeUnknownOption(Schema.parseJson(MetaOnly))(response.body)
  if (response.status === 200) {
    if (meta._tag === "None") return Effect.fail(unexpectedStatus(operation, 200, "body is not an OCS answer"))
    const code = meta.value.ocs.meta.statuscode
    if (code === OCS_UNAUTHORISED) return Effect.fail(new NextcloudUnauthorized({ operation }))
    if (code === 100 || code === 200) return Effect.succeed(response)
    return Effect.fail(unexpectedStatus(operation, 200, `OCS status ${code}`))
  }
  if (response.status === 400 || response.status === 403 || response.status === 404) {
    const reason = meta._tag === "Some" ? shortReason(meta.value.ocs.meta.message) : ""
    // A 403/404 without an OCS body is the web server's, not the Share API's.
    if (meta._tag === "Some") return Effect.fail(new ShareRefused({ operation, status: response.status, reason }))
  }
  if (response.status === 412) return Effect.fail(unexpectedStatus(operation, 412, "CSRF check failed (OCS-APIRequest header not accepted)"))
  return Effect.fail(refusal(operation, response.status))
}

const flag = (value: boolean | undefined): boolean => value === true

export const SharingLive: Layer.Layer<Sharing, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  Sharing,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const send = (operation: string, request: HttpClientRequest.HttpClientRequest, credentials: Credentials) =>
      nc.json(operation, HttpClientRequest.setUrlParam(request, "format", "json"), credentials, { ocs: true }).pipe(Effect.flatMap(checkOcs(operation)))

    const shareUrl = (id: string) => underBase(config.host, `${SHARES_PATH}/${encodeURIComponent(id)}`)

    const list = Effect.fn("Sharing.list")(function* (credentials: Credentials, options: ListSharesOptions = {}) {
      const operation = "Sharing.list"
      const params: Record<string, string> = {}
      if (options.path !== undefined) params["path"] = options.path
      if (options.reshares === true) params["reshares"] = "true"
      if (options.subfiles === true) params["subfiles"] = "true"
      const request = HttpClientRequest.get(underBase(config.host, SHARES_PATH)).pipe(HttpClientRequest.setUrlParams(params))
      const response = yield* send(operation, request, credentials)
      return (yield* decodeJsonBody(Envelope(Schema.Array(Share)), operation)(response)).ocs.data
    })

    /** `GET …/shares/<id>` answers a list of one. */
    const get = Effect.fn("Sharing.get")(function* (credentials: Credentials, id: string) {
      const operation = "Sharing.get"
      const response = yield* send(operation, HttpClientRequest.get(shareUrl(id)), credentials)
      const shares = (yield* decodeJsonBody(Envelope(Schema.Array(Share)), operation)(response)).ocs.data
      const share = shares[0]
      if (share === undefined) return yield* unexpectedStatus(operation, 200, "no share in the answer")
      return share
    })

    const create = Effect.fn("Sharing.create")(function* (credentials: Credentials, input: CreateShareInput) {
      const operation = "Sharing.create"
      const form: Record<string, string> = { path: input.path, shareType: String(SHARE_TYPES[input.shareType]) }
      // A public link is shared with no one: shareWith would be read as something else.
      if (input.shareType !== "link" && input.shareWith !== undefined) form["shareWith"] = input.shareWith
      if (input.permissions !== undefined) form["permissions"] = String(input.permissions)
      if (input.password !== undefined) form["password"] = input.password
      if (input.expireDate !== undefined) form["expireDate"] = input.expireDate
      if (input.note !== undefined) form["note"] = input.note
      if (input.label !== undefined) form["label"] = input.label
      const request = HttpClientRequest.post(underBase(config.host, SHARES_PATH)).pipe(HttpClientRequest.bodyUrlParams(form))
      const response = yield* send(operation, request, credentials)
      return (yield* decodeJsonBody(Envelope(Share), operation)(response)).ocs.data
    })

    const update = Effect.fn("Sharing.update")(function* (credentials: Credentials, id: string, input: UpdateShareInput) {
      const operation = "Sharing.update"
      const form: Record<string, string> = {}
      if (input.permissions !== undefined) form["permissions"] = String(input.permissions)
      if (input.password !== undefined) form["password"] = input.password
      if (input.expireDate !== undefined) form["expireDate"] = input.expireDate
      if (input.note !== undefined) form["note"] = input.note
      if (input.label !== undefined) form["label"] = input.label
      const request = HttpClientRequest.put(shareUrl(id)).pipe(HttpClientRequest.bodyUrlParams(form))
      const response = yield* send(operation, request, credentials)
      return (yield* decodeJsonBody(Envelope(Share), operation)(response)).ocs.data
    })

    const remove = Effect.fn("Sharing.delete")(function* (credentials: Credentials, id: string) {
      yield* send("Sharing.delete", HttpClientRequest.del(shareUrl(id)), credentials)
    })

    const policy = Effect.fn("Sharing.policy")(function* (credentials: Credentials) {
      const operation = "Sharing.policy"
      const response = yield* send(operation, HttpClientRequest.get(underBase(config.host, CAPABILITIES_PATH)), credentials).pipe(
        Effect.catchTag("ShareRefused", (e) => Effect.fail(refusal(operation, e.status)))
      )
      const capabilities = (yield* decodeJsonBody(Capabilities, operation)(response)).ocs.data.capabilities
      const link = capabilities.files_sharing?.public
      const days = link?.expire_date?.days
      const parsedDays = typeof days === "number" ? days : days !== undefined && /^\d+$/.test(days) ? Number(days) : null
      return {
        linksEnabled: link?.enabled ?? true,
        linkPasswordEnforced: flag(link?.password?.enforced),
        linkExpiryDefault: flag(link?.expire_date?.enabled),
        linkExpiryEnforced: flag(link?.expire_date?.enforced),
        linkExpiryDays: parsedDays,
        mailPasswordEnforced: flag(capabilities.sharebymail?.password?.enforced)
      } satisfies SharingPolicy
    })

    return Sharing.of({ list, get, create, update, delete: remove, policy })
  })
)
