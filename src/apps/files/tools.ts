/**
 * Files tools over WebDAV: list, read (text), write (text), mkdir, move,
 * delete. Reads need `files.read`, writes `files.write`. Every path is
 * relative to the caller's Nextcloud files and is checked by `normalisePath`
 * before anything is sent.
 */
import { Effect, Either, Schema } from "effect"
import { Conflict, FileTooLarge, InvalidArguments, NotFound, NotTextFile, PermissionDenied } from "../../domain/Errors.js"
import type { DavAccount } from "../../nextcloud/Ocs.js"
import { davAccountOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { type DavEntry, WebDav } from "./Client.js"
import { displayPath, isRoot, isWithin, normalisePath, type PathSegments, parentOf } from "./paths.js"

/** Largest file `nc_files_read` returns, and largest content `nc_files_write` sends. */
export const MAX_TEXT_BYTES = 1024 * 1024

const PathArgument = (description: string) => Schema.String.pipe(Schema.maxLength(4096)).annotations({ description })

const segmentsOf = (raw: string, field: string) =>
  Either.match(normalisePath(raw), {
    onLeft: (reason) => Effect.fail(new InvalidArguments({ message: `Invalid ${field} "${raw.slice(0, 200)}": ${reason}.` })),
    onRight: (segments) => Effect.succeed(segments)
  })

const notRoot = (segments: PathSegments, field: string, what: string) =>
  isRoot(segments)
    ? Effect.fail(new InvalidArguments({ message: `${field} must name ${what} inside your files, not the root folder.` }))
    : Effect.void

const formatBytes = (bytes: number): string =>
  bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`

/** A size and the limit it passes, in exact bytes when the rounded figures would read the same ("1.0 MiB; … up to 1.0 MiB"). */
const sizeAndLimit = (size: number, limit: number): readonly [string, string] =>
  formatBytes(size) === formatBytes(limit)
    ? [`${size.toLocaleString("en-US")} bytes`, `${limit.toLocaleString("en-US")} bytes (${formatBytes(limit)})`]
    : [formatBytes(size), formatBytes(limit)]

const Entry = Schema.Struct({
  name: Schema.String,
  path: Schema.String,
  type: Schema.Literal("file", "directory"),
  size: Schema.NullOr(Schema.Number).annotations({ description: "Bytes" }),
  modified: Schema.NullOr(Schema.String).annotations({ description: "ISO 8601" }),
  etag: Schema.NullOr(Schema.String),
  content_type: Schema.NullOr(Schema.String)
})
type Entry = typeof Entry.Type

const entryOf = (entry: DavEntry): Entry => ({
  name: entry.name,
  path: displayPath(entry.path),
  type: entry.isCollection ? "directory" : "file",
  size: entry.size,
  modified: entry.modified === null ? null : new Date(entry.modified).toISOString(),
  etag: entry.etag,
  content_type: entry.isCollection ? null : entry.contentType
})

const notFound = (segments: PathSegments) =>
  new NotFound({ message: `Nothing exists at ${displayPath(segments)} in your files.` })

const stat = (account: DavAccount, segments: PathSegments) =>
  Effect.flatMap(WebDav, (dav) => dav.list(account, segments, 0)).pipe(
    Effect.map((entries) => entries[0]),
    Effect.flatMap((entry) => (entry === undefined ? Effect.fail(notFound(segments)) : Effect.succeed(entry)))
  )

// ---------------------------------------------------------------------------

export const ListFilesInput = Schema.Struct({
  path: Schema.optional(PathArgument("Folder to list, relative to your files (default: the root, \"/\")"))
})

export const ListFilesOutput = Tool.response(["ok", "error"], {
  path: Schema.optional(Schema.String),
  entries: Schema.optional(Schema.Array(Entry)),
  count: Schema.optional(Schema.Number)
})

export const listFiles = Tool.make({
  name: "nc_files_list",
  title: "List Files",
  description:
    "List a folder of your Nextcloud files: name, type (file or directory), size, modified, etag. Folders first, then by name.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["files.read"],
  input: ListFilesInput,
  output: ListFilesOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path ?? "/", "path")
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      const entries = yield* dav.list(account, segments, 1).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(notFound(segments))),
        whileTrying(`list ${displayPath(segments)}`)
      )
      const [self, ...children] = entries
      const listed = self !== undefined && !self.isCollection ? [self] : children
      const sorted = [...listed].sort((a, b) =>
        a.isCollection !== b.isCollection ? (a.isCollection ? -1 : 1) : a.name.localeCompare(b.name)
      )
      return {
        status: "ok",
        message:
          self !== undefined && !self.isCollection
            ? `${displayPath(segments)} is a file (${formatBytes(self.size ?? 0)}).`
            : `${sorted.length} item(s) in ${displayPath(segments)}.`,
        path: displayPath(segments),
        entries: sorted.map(entryOf),
        count: sorted.length
      } as const
    })
})

// ---------------------------------------------------------------------------

export const ReadFileInput = Schema.Struct({
  path: PathArgument("File to read, relative to your files (e.g. Documents/todo.md)")
})

export const ReadFileOutput = Tool.response(["ok", "error"], {
  path: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  etag: Schema.optional(Schema.NullOr(Schema.String)),
  content_type: Schema.optional(Schema.NullOr(Schema.String)),
  modified: Schema.optional(Schema.NullOr(Schema.String))
})

const tooLarge = (segments: PathSegments, size: number | null) =>
  new FileTooLarge({
    message: `${displayPath(segments)} is ${size === null ? `larger than ${formatBytes(MAX_TEXT_BYTES)}` : sizeAndLimit(size, MAX_TEXT_BYTES)[0]}; nc_files_read only returns text files up to ${size === null ? formatBytes(MAX_TEXT_BYTES) : sizeAndLimit(size, MAX_TEXT_BYTES)[1]}. Open it in Nextcloud instead.`
  })

const decodeText = (segments: PathSegments, bytes: Uint8Array) => {
  const binary = () =>
    new NotTextFile({
      message: `${displayPath(segments)} is not a UTF-8 text file (it looks binary), so it cannot be returned as text. Open it in Nextcloud instead.`
    })
  if (bytes.includes(0)) return Effect.fail(binary())
  return Effect.try({
    try: () => new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes),
    catch: binary
  })
}

export const readFile = Tool.make({
  name: "nc_files_read",
  title: "Read File",
  description: `Read a text file from your Nextcloud files (UTF-8, up to ${formatBytes(MAX_TEXT_BYTES)}). Returns its content and etag (for nc_files_write's if_match). Binary and larger files are refused with a clear error.`,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["files.read"],
  input: ReadFileInput,
  output: ReadFileOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      yield* notRoot(segments, "path", "a file")
      const account = yield* davAccountOf(grant)
      const action = `read ${displayPath(segments)}`
      const info = yield* stat(account, segments).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(notFound(segments))),
        whileTrying(action)
      )
      if (info.isCollection) {
        return yield* new InvalidArguments({ message: `${displayPath(segments)} is a folder; use nc_files_list to see what is in it.` })
      }
      if (info.size !== null && info.size > MAX_TEXT_BYTES) return yield* tooLarge(segments, info.size)
      const dav = yield* WebDav
      const file = yield* dav.read(account, segments, MAX_TEXT_BYTES).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(notFound(segments)),
          NextcloudBodyTooLarge: (e) => Effect.fail(tooLarge(segments, e.size))
        }),
        whileTrying(action)
      )
      const content = yield* decodeText(segments, file.bytes)
      return {
        status: "ok",
        message: `Read ${displayPath(segments)} (${formatBytes(file.bytes.byteLength)}).`,
        path: displayPath(segments),
        content,
        size: file.bytes.byteLength,
        etag: file.etag ?? info.etag,
        content_type: file.contentType ?? info.contentType,
        modified: info.modified === null ? null : new Date(info.modified).toISOString()
      } as const
    })
})

// ---------------------------------------------------------------------------

export const WriteFileInput = Schema.Struct({
  path: PathArgument("File to create or overwrite, relative to your files; its folder must exist"),
  content: Schema.String.annotations({ description: `The complete new text (UTF-8, up to ${formatBytes(MAX_TEXT_BYTES)})` }),
  if_match: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
      description: "Only overwrite if the file still has this etag (from nc_files_read or nc_files_list)"
    })
  ),
  overwrite: Schema.optional(
    Schema.Boolean.annotations({ description: "false: only create, never replace an existing file (default true)" })
  )
})

export const WriteFileOutput = Tool.response(["created", "updated", "error"], {
  path: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  etag: Schema.optional(Schema.NullOr(Schema.String))
})

export const writeFile = Tool.make({
  name: "nc_files_write",
  title: "Write File",
  description:
    "Create or overwrite a text file in your Nextcloud files. Pass if_match (the etag you read) to refuse overwriting someone else's newer change, " +
    "or overwrite: false to only create.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["files.write"],
  input: WriteFileInput,
  output: WriteFileOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      yield* notRoot(segments, "path", "a file")
      const size = Buffer.byteLength(input.content, "utf8")
      if (size > MAX_TEXT_BYTES) {
        return yield* new InvalidArguments({
          message: `The content is ${sizeAndLimit(size, MAX_TEXT_BYTES)[0]}; nc_files_write accepts up to ${sizeAndLimit(size, MAX_TEXT_BYTES)[1]}.`
        })
      }
      if (input.if_match !== undefined && input.overwrite === false) {
        return yield* new InvalidArguments({ message: "Give either if_match (overwrite that version) or overwrite: false (only create), not both." })
      }
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      const where = displayPath(segments)
      const result = yield* dav
        .write(account, segments, input.content, {
          contentType: "text/plain; charset=utf-8",
          ...(input.if_match !== undefined ? { ifMatch: input.if_match } : {}),
          ...(input.overwrite === false ? { createOnly: true } : {})
        })
        .pipe(
          Effect.catchTags({
            NextcloudPreconditionFailed: () =>
              Effect.fail(
                new Conflict({
                  message:
                    input.if_match !== undefined
                      ? `${where} was changed (or removed) since you read it (etag ${input.if_match} is out of date), so it was not overwritten. Read it again and re-apply your change.`
                      : `${where} already exists, so it was not replaced (overwrite: false).`
                })
              ),
            NextcloudConflict: () =>
              Effect.fail(
                new Conflict({
                  message: `${where} was not written: either its folder ${displayPath(parentOf(segments))} does not exist (create it with nc_files_mkdir) or ${where} is a folder.`
                })
              ),
            NextcloudNotAllowed: () => Effect.fail(new Conflict({ message: `${where} is a folder; it cannot be overwritten with a file.` })),
            NextcloudNotFound: () =>
              Effect.fail(new NotFound({ message: `The folder ${displayPath(parentOf(segments))} does not exist; create it first with nc_files_mkdir.` })),
            NextcloudForbidden: () => Effect.fail(new PermissionDenied({ message: `You may not write ${where} (read-only share or folder).` }))
          }),
          whileTrying(`write ${where}`)
        )
      return {
        status: result.created ? "created" : "updated",
        message: `${result.created ? "Created" : "Overwrote"} ${where} (${formatBytes(size)}).`,
        path: where,
        size,
        etag: result.etag
      } as const
    })
})

// ---------------------------------------------------------------------------

export const MkdirInput = Schema.Struct({
  path: PathArgument("Folder to create, relative to your files"),
  parents: Schema.optional(Schema.Boolean.annotations({ description: "Also create missing parent folders (default false)" }))
})

export const MkdirOutput = Tool.response(["created", "exists", "error"], { path: Schema.optional(Schema.String) })

export const mkdir = Tool.make({
  name: "nc_files_mkdir",
  title: "Create Folder",
  description: "Create a folder in your Nextcloud files (with parents: true, also the missing folders above it). A folder that already exists is reported as exists.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["files.write"],
  input: MkdirInput,
  output: MkdirOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      const where = displayPath(segments)
      if (isRoot(segments)) return { status: "exists", message: "The root folder always exists.", path: where } as const
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      /** Create one folder: true if created, false if a folder was already there. */
      const createOne = (target: PathSegments) =>
        dav.mkdir(account, target).pipe(
          Effect.as(true),
          Effect.catchTag("NextcloudNotAllowed", () =>
            stat(account, target).pipe(
              Effect.flatMap((entry) =>
                entry.isCollection
                  ? Effect.succeed(false)
                  : Effect.fail(new Conflict({ message: `${displayPath(target)} exists and is a file, not a folder.` }))
              )
            )
          ),
          Effect.catchTag("NextcloudConflict", () =>
            Effect.fail(
              new NotFound({
                message: `The folder ${displayPath(parentOf(target))} does not exist; pass parents: true to create it too.`
              })
            )
          ),
          whileTrying(`create the folder ${displayPath(target)}`)
        )
      const targets = input.parents === true ? segments.map((_, i) => segments.slice(0, i + 1)) : [segments]
      let created = false
      for (const target of targets) created = yield* createOne(target)
      return created
        ? ({ status: "created", message: `Created the folder ${where}.`, path: where } as const)
        : ({ status: "exists", message: `The folder ${where} already exists.`, path: where } as const)
    })
})

// ---------------------------------------------------------------------------

export const MoveInput = Schema.Struct({
  from: PathArgument("File or folder to move or rename"),
  to: PathArgument("New path (including the new name); its folder must exist"),
  overwrite: Schema.optional(Schema.Boolean.annotations({ description: "Replace whatever is at `to` (default false)" }))
})

export const MoveOutput = Tool.response(["moved", "error"], {
  from: Schema.optional(Schema.String),
  to: Schema.optional(Schema.String),
  overwritten: Schema.optional(Schema.Boolean)
})

export const move = Tool.make({
  name: "nc_files_move",
  title: "Move or Rename File",
  description: "Move or rename a file or folder in your Nextcloud files. Refuses to replace an existing target unless overwrite is true.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  scopes: ["files.write"],
  input: MoveInput,
  output: MoveOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const from = yield* segmentsOf(input.from, "from")
      const to = yield* segmentsOf(input.to, "to")
      yield* notRoot(from, "from", "a file or folder")
      yield* notRoot(to, "to", "a file or folder")
      if (isWithin(to, from)) {
        return yield* new InvalidArguments({
          message: `Cannot move ${displayPath(from)} to ${displayPath(to)}: the target is the same as, or inside, the source.`
        })
      }
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      const result = yield* dav.move(account, from, to, input.overwrite ?? false).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(notFound(from)),
          NextcloudConflict: () =>
            Effect.fail(new NotFound({ message: `The folder ${displayPath(parentOf(to))} does not exist; create it first with nc_files_mkdir.` })),
          NextcloudPreconditionFailed: () =>
            Effect.fail(new Conflict({ message: `${displayPath(to)} already exists; pass overwrite: true to replace it.` })),
          NextcloudForbidden: () =>
            Effect.fail(new PermissionDenied({ message: `You may not move ${displayPath(from)} to ${displayPath(to)}.` }))
        }),
        whileTrying(`move ${displayPath(from)} to ${displayPath(to)}`)
      )
      return {
        status: "moved",
        message: `Moved ${displayPath(from)} to ${displayPath(to)}${result.overwritten ? " (replacing what was there)" : ""}.`,
        from: displayPath(from),
        to: displayPath(to),
        overwritten: result.overwritten
      } as const
    })
})

// ---------------------------------------------------------------------------

export const DeleteFileInput = Schema.Struct({
  path: PathArgument("File or folder to delete (a folder with everything in it); it goes to the Nextcloud trash bin if enabled")
})

export const DeleteFileOutput = Tool.response(["deleted", "error"], { path: Schema.optional(Schema.String) })

export const deleteFile = Tool.make({
  name: "nc_files_delete",
  title: "Delete File or Folder",
  description: "Delete a file or a folder (with its contents) from your Nextcloud files.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["files.write"],
  input: DeleteFileInput,
  output: DeleteFileOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const segments = yield* segmentsOf(input.path, "path")
      yield* notRoot(segments, "path", "a file or folder")
      const account = yield* davAccountOf(grant)
      const dav = yield* WebDav
      yield* dav.remove(account, segments).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(notFound(segments)),
          NextcloudForbidden: () => Effect.fail(new PermissionDenied({ message: `You may not delete ${displayPath(segments)}.` }))
        }),
        whileTrying(`delete ${displayPath(segments)}`)
      )
      return { status: "deleted", message: `Deleted ${displayPath(segments)}.`, path: displayPath(segments) } as const
    })
})

export const filesTools = [listFiles, readFile, writeFile, mkdir, move, deleteFile] as const
