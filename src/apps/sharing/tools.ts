/**
 * Sharing tools (OCS Share API v1): list, create, update and delete shares of
 * the caller's files — with a user, a group, an email address, or as a public
 * link. Reads need `sharing.read`, writes `sharing.write`.
 *
 * A refusal Nextcloud explains by its sharing policy (an enforced password or
 * expiry date) is answered `PolicyViolation`, naming the rule as the
 * capabilities state it, so the caller can supply what is demanded instead of
 * guessing. Nothing is retried with invented values.
 */
import { Effect, Either, Option, Schema } from "effect"
import { InvalidArguments, NotFound, PermissionDenied, PolicyViolation } from "../../domain/Errors.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import { pinnedUrl } from "../../nextcloud/pinnedUrl.js"
import { underBase } from "../../nextcloud/http.js"
import { credentialsOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import type { Credentials } from "../../nextcloud/Ocs.js"
import {
  SHARE_TYPES,
  type Share,
  type ShareRefused,
  type ShareTypeName,
  Sharing,
  type SharingPolicy
} from "./Client.js"
import { decodePermissions, encodePermissions, Permission, type PermissionName } from "./permissions.js"

const DEFAULT_LIMIT = 50

// ---------------------------------------------------------------------------
// Arguments

/** A path below the user's files: no `..`, no URL, no control characters. */
const SharePath = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(4096),
  Schema.filter((path) => {
    if (/[\u0000-\u001f\u007f\\]/.test(path)) return "control characters and backslashes are not allowed"
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path) || path.startsWith("//")) return "give a path inside your files, not a URL"
    if (path.split("/").some((segment) => segment === "..")) return "'..' is not allowed"
    return true
  })
).annotations({ description: "A file or folder relative to your files, e.g. /Documents/report.pdf" })

const normalisePath = (path: string): string => `/${path.split("/").filter((s) => s !== "" && s !== ".").join("/")}`

const ShareId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9:_-]{1,100}$/)).annotations({
  description: "The share's id (from nc_sharing_list or nc_sharing_create)"
})

const Permissions = Schema.Array(Permission).pipe(Schema.minItems(1), Schema.maxItems(5)).annotations({
  description:
    "What the recipient may do: read, update, create, delete, share. A file cannot be shared with create or delete; " +
    "a public link to a folder with create/update/delete allows uploads"
})

const isCalendarDate = (text: string): boolean => {
  const d = new Date(`${text}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text
}

const ExpireDate = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}$/),
  Schema.filter((text) => isCalendarDate(text) || "not a calendar date")
).annotations({ description: "The last day the share works, YYYY-MM-DD" })

const Password = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
const Note = Schema.String.pipe(Schema.maxLength(2000))
const Label = Schema.String.pipe(Schema.maxLength(255))

const ShareType = Schema.Literal("user", "group", "link", "email").annotations({
  description: "user, group or email (with share_with), or link: a public link (no share_with)"
})

// ---------------------------------------------------------------------------
// Output

const ShareOutput = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("user", "group", "link", "email", "other"),
  share_type: Schema.Number.annotations({ description: "Nextcloud's share type number" }),
  share_with: Schema.optional(Schema.String.annotations({ description: "User id, group id or email address (never for a link)" })),
  share_with_name: Schema.optional(Schema.String),
  path: Schema.String,
  item_type: Schema.String,
  permissions: Schema.Array(Permission),
  expire_date: Schema.NullOr(Schema.String),
  has_password: Schema.Boolean,
  note: Schema.String,
  label: Schema.String,
  owner: Schema.String,
  created: Schema.String.annotations({ description: "ISO 8601" }),
  url: Schema.String.annotations({ description: "The public link, or the shared item in Nextcloud's web UI" })
})
type ShareOutput = typeof ShareOutput.Type

const TYPE_NAMES: Record<number, ShareOutput["type"]> = { 0: "user", 1: "group", 3: "link", 4: "email" }

const shareOutput = (config: { readonly publicUrl: URL }, share: Share): ShareOutput => {
  const type = TYPE_NAMES[share.share_type] ?? "other"
  const pinned =
    type === "link" && typeof share.url === "string" ? Either.getOrUndefined(pinnedUrl(config.publicUrl, share.url)) : undefined
  const url = pinned ?? underBase(config.publicUrl, `index.php/f/${share.item_source ?? 0}`)
  const hasPassword = type === "link" || type === "email" ? (share.password ?? (type === "link" ? share.share_with : null) ?? "") !== "" : false
  return {
    id: share.id,
    type,
    share_type: share.share_type,
    // A link's share_with is its password's hash: never shown.
    ...(type !== "link" && typeof share.share_with === "string" && share.share_with !== "" ? { share_with: share.share_with } : {}),
    ...(type !== "link" && typeof share.share_with_displayname === "string" && share.share_with_displayname !== ""
      ? { share_with_name: share.share_with_displayname }
      : {}),
    path: share.path,
    item_type: share.item_type,
    permissions: decodePermissions(share.permissions),
    expire_date: share.expiration === null ? null : share.expiration.slice(0, 10),
    has_password: hasPassword,
    note: share.note ?? "",
    label: share.label ?? "",
    owner: share.uid_owner,
    created: new Date(share.stime * 1000).toISOString(),
    url: url.href
  }
}

const describe = (share: ShareOutput): string => {
  const target =
    share.type === "link" ? "a public link" : share.type === "other" ? "a share" : `${share.type} ${share.share_with ?? "?"}`
  const expiry = share.expire_date === null ? "" : `, expires after ${share.expire_date}`
  return `${share.path} with ${target} (${share.permissions.join(", ")}${share.has_password ? ", password" : ""}${expiry})`
}

// ---------------------------------------------------------------------------
// Refusals

/** What the request asked for that a policy could be about. */
interface Asked {
  readonly type: ShareTypeName | "other"
  /** A password is (or stays) set. */
  readonly password: boolean
  /** The expiry asked for: a date, none given (undefined), or removed (null). */
  readonly expireDate: string | null | undefined
}

const todayPlus = (days: number): string => {
  const d = new Date()
  d.setUTCHours(0, 0, 0, 0)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/** The policy rule the request breaks, read from the capabilities; none when the policy does not explain it. */
const policyRule = (policy: SharingPolicy, asked: Asked): Option.Option<string> => {
  const linkOrMail = asked.type === "link" || asked.type === "email"
  const passwordEnforced = asked.type === "link" ? policy.linkPasswordEnforced : policy.linkPasswordEnforced || policy.mailPasswordEnforced
  if (linkOrMail && !asked.password && passwordEnforced) {
    return Option.some(
      "Your Nextcloud's sharing policy requires a password on public links and email shares " +
        "(capabilities: files_sharing.public.password.enforced). Nothing was shared; give a password."
    )
  }
  if (asked.type === "link" && policy.linkExpiryEnforced) {
    const days = policy.linkExpiryDays
    const limit = days === null ? "" : ` at most ${days} days ahead (on or before ${todayPlus(days)})`
    if (asked.expireDate === null) {
      return Option.some(
        `Your Nextcloud's sharing policy requires public links to expire${limit} ` +
          "(capabilities: files_sharing.public.expire_date.enforced), so the expiry cannot be removed. Nothing was changed."
      )
    }
    if (typeof asked.expireDate === "string" && days !== null && asked.expireDate > todayPlus(days)) {
      return Option.some(
        `Your Nextcloud's sharing policy requires public links to expire${limit} ` +
          "(capabilities: files_sharing.public.expire_date.enforced). Nothing was changed; give an earlier expire_date."
      )
    }
  }
  if (asked.type === "link" && !policy.linksEnabled) {
    return Option.some("Your Nextcloud's administrator has turned public links off (capabilities: files_sharing.public.enabled).")
  }
  return Option.none()
}

/**
 * A refused share request, explained: by the sharing policy when it accounts
 * for the refusal (the capabilities are read only then), else by the status
 * with Nextcloud's own reason.
 */
const explainRefusal = (credentials: Credentials, refused: ShareRefused, asked: Asked, notFound: string) =>
  Effect.gen(function* () {
    const sharing = yield* Sharing
    const policy = yield* sharing.policy(credentials).pipe(Effect.option)
    const rule = Option.flatMap(policy, (p) => policyRule(p, asked))
    if (Option.isSome(rule)) return yield* new PolicyViolation({ message: rule.value })
    const reason = refused.reason === "" ? "" : ` Nextcloud said: "${refused.reason}".`
    switch (refused.status) {
      case 404:
        return yield* new NotFound({ message: `${notFound}${reason}` })
      case 403:
        return yield* new PermissionDenied({ message: `Nextcloud does not allow this share.${reason}` })
      default:
        return yield* new InvalidArguments({ message: `Nextcloud refused the share's settings.${reason}` })
    }
  })

// ---------------------------------------------------------------------------

export const ListSharesInput = Schema.Struct({
  path: Schema.optional(SharePath.annotations({ description: "Only the shares of this file or folder (default: all your shares)" })),
  subfiles: Schema.optional(
    Schema.Boolean.annotations({ description: "With path a folder: the shares of the items directly inside it instead" })
  ),
  reshares: Schema.optional(Schema.Boolean.annotations({ description: "Also shares others made of your files" })),
  limit: Schema.optional(
    Schema.Number.pipe(Schema.int(), Schema.between(1, 500)).annotations({ description: "Shares per page, 1–500 (default 50)" })
  ),
  cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d{1,9}$/)).annotations({ description: "next_cursor of the previous page" }))
})

export const ListSharesOutput = Tool.response(["ok", "error"], {
  shares: Schema.optional(Schema.Array(ShareOutput)),
  count: Schema.optional(Schema.Number),
  total: Schema.optional(Schema.Number),
  next_cursor: Schema.optional(Schema.NullOr(Schema.String))
})

export const listShares = Tool.make({
  name: "nc_sharing_list",
  title: "List Shares",
  description:
    "List your shares (with users, groups, email addresses, public links): all of them, or those of one path " +
    "(with subfiles: of the items in a folder). Each has its id, recipient, permissions, expiry and url.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["sharing.read"],
  input: ListSharesInput,
  output: ListSharesOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      if (input.subfiles === true && input.path === undefined) {
        return yield* new InvalidArguments({ message: "subfiles needs path: the folder whose items' shares to list." })
      }
      const sharing = yield* Sharing
      const config = yield* NextcloudConfig
      const path = input.path === undefined ? undefined : normalisePath(input.path)
      const shares = yield* sharing
        .list(credentialsOf(grant), { path, subfiles: input.subfiles, reshares: input.reshares })
        .pipe(
          Effect.catchTag("ShareRefused", (refused): Effect.Effect<never, NotFound | InvalidArguments> =>
            refused.status === 404
              ? Effect.fail(new NotFound({ message: `There is no file or folder ${path ?? ""} in your files.` }))
              : Effect.fail(
                  new InvalidArguments({
                    message: `Nextcloud cannot list these shares${refused.reason === "" ? "" : `: "${refused.reason}"`} (subfiles needs a folder).`
                  })
                )
          ),
          whileTrying("list your shares")
        )
      const offset = input.cursor === undefined ? 0 : Number(input.cursor)
      const limit = input.limit ?? DEFAULT_LIMIT
      const page = shares.slice(offset, offset + limit).map((s) => shareOutput(config, s))
      const next = offset + limit < shares.length ? String(offset + limit) : null
      return {
        status: "ok",
        message:
          `${shares.length} share(s)${path === undefined ? "" : input.subfiles === true ? ` inside ${path}` : ` of ${path}`}` +
          (page.length < shares.length ? `; showing ${page.length}.` : ".") +
          (next === null ? "" : " More follow: pass next_cursor as cursor."),
        shares: page,
        count: page.length,
        total: shares.length,
        next_cursor: next
      } as const
    })
})

// ---------------------------------------------------------------------------

export const CreateShareInput = Schema.Struct({
  path: SharePath,
  type: ShareType,
  share_with: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(320)).annotations({
      description: "The user id, group id or email address (not for a link)"
    })
  ),
  permissions: Schema.optional(Permissions),
  expire_date: Schema.optional(ExpireDate),
  password: Schema.optional(Password.annotations({ description: "Protects a public link or email share" })),
  note: Schema.optional(Note.annotations({ description: "A note to the recipient" })),
  label: Schema.optional(Label.annotations({ description: "A public link's name, shown in the share list" }))
})

export const ShareResultOutput = (status: string) =>
  Tool.response([status, "error"], { share: Schema.optional(ShareOutput) })

export const createShare = Tool.make({
  name: "nc_sharing_create",
  title: "Create Share",
  description:
    "Share a file or folder with a user, a group or an email address (share_with), or create a public link (type link, no share_with). " +
    "Optional permissions (read, update, create, delete, share), expire_date, password (links and email), note, label (links). " +
    "When Nextcloud's policy demands a password or an expiry, the answer is PolicyViolation naming the rule.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["sharing.write"],
  input: CreateShareInput,
  output: ShareResultOutput("created"),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      if (input.type === "link" && input.share_with !== undefined) {
        return yield* new InvalidArguments({ message: "A public link is not shared with anyone: leave out share_with." })
      }
      if (input.type !== "link" && input.share_with === undefined) {
        return yield* new InvalidArguments({ message: `A ${input.type} share needs share_with (the ${input.type === "email" ? "email address" : `${input.type} id`}).` })
      }
      if (input.password !== undefined && input.type !== "link" && input.type !== "email") {
        return yield* new InvalidArguments({ message: "Only public links and email shares have a password." })
      }
      if (input.label !== undefined && input.type !== "link") {
        return yield* new InvalidArguments({ message: "Only public links have a label." })
      }
      const sharing = yield* Sharing
      const config = yield* NextcloudConfig
      const credentials = credentialsOf(grant)
      const path = normalisePath(input.path)
      if (path === "/") return yield* new InvalidArguments({ message: "Your whole files folder cannot be shared; give a file or folder in it." })
      const requested = input.permissions === undefined ? undefined : encodePermissions(input.permissions)
      const share = yield* sharing
        .create(credentials, {
          path,
          shareType: input.type,
          shareWith: input.share_with,
          permissions: requested,
          password: input.password,
          expireDate: input.expire_date,
          note: input.note,
          label: input.label
        })
        .pipe(
          Effect.catchTag("ShareRefused", (refused) =>
            explainRefusal(
              credentials,
              refused,
              { type: input.type, password: input.password !== undefined, expireDate: input.expire_date },
              `Nextcloud could not share ${path}: the path, the recipient or the expiry was not found or not accepted.`
            )
          ),
          whileTrying(`share ${path}`)
        )
      const output = shareOutput(config, share)
      const notes: Array<string> = []
      if (requested !== undefined && encodePermissions(output.permissions) !== requested) {
        notes.push(`Nextcloud granted ${output.permissions.join(", ")} (a file cannot carry create or delete).`)
      }
      if (input.expire_date === undefined && output.expire_date !== null) {
        notes.push(`Nextcloud set it to expire after ${output.expire_date}, as its sharing policy requires.`)
      }
      return {
        status: "created",
        message: `Shared ${describe(output)}: ${output.url}${notes.length === 0 ? "" : ` ${notes.join(" ")}`}`,
        share: output
      } as const
    })
})

// ---------------------------------------------------------------------------

export const UpdateShareInput = Schema.Struct({
  id: ShareId,
  permissions: Schema.optional(Permissions),
  expire_date: Schema.optional(Schema.NullOr(ExpireDate).annotations({ description: "A new last day (YYYY-MM-DD), or null to remove it" })),
  password: Schema.optional(Schema.NullOr(Password).annotations({ description: "A new password, or null to remove it" })),
  note: Schema.optional(Note),
  label: Schema.optional(Label)
})

export const updateShare = Tool.make({
  name: "nc_sharing_update",
  title: "Update Share",
  description:
    "Change a share's permissions, expire_date (null removes it), password (null removes it; links and email), note or label. " +
    "Only the given fields change. A change Nextcloud's policy forbids (removing an enforced password or expiry) is PolicyViolation.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["sharing.write"],
  input: UpdateShareInput,
  output: ShareResultOutput("updated"),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const { id, ...changes } = input
      if (Object.keys(changes).length === 0) {
        return yield* new InvalidArguments({ message: "Nothing to change: give permissions, expire_date, password, note and/or label." })
      }
      const sharing = yield* Sharing
      const config = yield* NextcloudConfig
      const credentials = credentialsOf(grant)
      const notFound = new NotFound({ message: `There is no share with id ${id} (it may have been deleted). nc_sharing_list shows yours.` })
      const current = yield* sharing.get(credentials, id).pipe(
        Effect.catchTag("ShareRefused", (refused) =>
          Effect.fail<NotFound | InvalidArguments>(refused.status === 404 ? notFound : new InvalidArguments({ message: refused.reason }))
        ),
        whileTrying(`read share ${id}`)
      )
      const type = TYPE_NAMES[current.share_type] ?? "other"
      if (input.password !== undefined && type !== "link" && type !== "email") {
        return yield* new InvalidArguments({ message: `Share ${id} is a ${type} share: only public links and email shares have a password.` })
      }
      const share = yield* sharing
        .update(credentials, id, {
          permissions: input.permissions === undefined ? undefined : encodePermissions(input.permissions as ReadonlyArray<PermissionName>),
          password: input.password === undefined ? undefined : (input.password ?? ""),
          expireDate: input.expire_date === undefined ? undefined : (input.expire_date ?? ""),
          note: input.note,
          label: input.label
        })
        .pipe(
          Effect.catchTag("ShareRefused", (refused) =>
            explainRefusal(
              credentials,
              refused,
              {
                type,
                password: input.password === undefined ? (current.password ?? "") !== "" : input.password !== null,
                expireDate: input.expire_date
              },
              `Nextcloud could not update share ${id}.`
            )
          ),
          whileTrying(`update share ${id}`)
        )
      const output = shareOutput(config, share)
      return { status: "updated", message: `Updated share ${id}: ${describe(output)}.`, share: output } as const
    })
})

// ---------------------------------------------------------------------------

export const DeleteShareInput = Schema.Struct({ id: ShareId })

export const deleteShare = Tool.make({
  name: "nc_sharing_delete",
  title: "Delete Share",
  description: "Stop sharing: delete a share (a public link stops working at once). The file itself stays.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["sharing.write"],
  input: DeleteShareInput,
  output: Tool.response(["deleted", "error"], { id: Schema.optional(Schema.String) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const sharing = yield* Sharing
      yield* sharing.delete(credentialsOf(grant), input.id).pipe(
        Effect.catchTag("ShareRefused", (refused) =>
          Effect.fail<NotFound | PermissionDenied>(
            refused.status === 404
              ? new NotFound({ message: `There is no share with id ${input.id} (it may have been deleted already).` })
              : new PermissionDenied({ message: `Nextcloud does not let you delete share ${input.id}: "${refused.reason}".` })
          )
        ),
        whileTrying(`delete share ${input.id}`)
      )
      return { status: "deleted", message: `Deleted share ${input.id}.`, id: input.id } as const
    })
})

export const sharingTools = [listShares, createShare, updateShare, deleteShare] as const

/** Exposed for tests: the share types the tools create, and their numbers. */
export const SHARE_TYPE_NUMBERS = SHARE_TYPES
