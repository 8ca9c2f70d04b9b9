/**
 * The files app in the simulated Nextcloud (docs/nextcloud-protocol.md §9,
 * §10): the WebDAV routes of `/remote.php/dav/files/<uid>/` (served by
 * simulatedWebDav.ts), and hooks to seed files and folders, read them back,
 * and set quotas (507) and locks (423).
 */
import { HttpRouter } from "@effect/platform"
import { Effect, Schema } from "effect"
import { Empty, hook } from "../../simulator/hooks.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { now, SimulatorHookError } from "../../simulator/state.js"
import {
  DAV_PREFIX,
  DAV_ROOT,
  davApp,
  type DavNode,
  type DavState,
  freshEtag,
  freshFileId,
  isDavPath,
  key,
  lockKey,
  makeDavState,
  mimeOf,
  touchAncestors,
  userFiles
} from "./simulatedWebDav.js"


export interface SeedFile {
  readonly userId: string
  /** Relative to the user's root, `/`-separated; missing folders are created. */
  readonly path: string
  /** UTF-8 text. */
  readonly content?: string | undefined
  /** Binary content, base64. */
  readonly base64?: string | undefined
  /** Without content: this many bytes of filler text. */
  readonly size?: number | undefined
}

export interface FileInfo {
  readonly path: string
  readonly type: "file" | "directory"
  readonly size: number
  readonly etag: string
  readonly contentType: string | null
  /** Simulator clock, ms. */
  readonly modified: number
}

export interface FileContentInfo extends FileInfo {
  readonly content: string
  readonly base64: string
}

export interface PathRef {
  readonly userId: string
  readonly path: string
}

export interface DavControl {
  /** Put a file into a user's files (creating folders on the way). */
  readonly seedFile: (input: SeedFile) => Effect.Effect<FileInfo, SimulatorHookError>
  /** Create a folder and its parents. */
  readonly seedFolder: (input: PathRef) => Effect.Effect<FileInfo, SimulatorHookError>
  /** A file's content and metadata. */
  readonly readFile: (input: PathRef) => Effect.Effect<FileContentInfo, SimulatorHookError>
  /** Everything in a user's files, folders included (root excluded), sorted by path. */
  readonly listFiles: (userId: string) => Effect.Effect<ReadonlyArray<FileInfo>, SimulatorHookError>
  /** Bytes the user may store in total (`null` = unlimited); a PUT beyond it gets 507. */
  readonly setQuota: (input: { readonly userId: string; readonly bytes: number | null }) => Effect.Effect<void, SimulatorHookError>
  /** Lock a path (and what is below it): writes to it get 423 until unlocked. */
  readonly lockPath: (input: PathRef) => Effect.Effect<void, SimulatorHookError>
  readonly unlockPath: (input: PathRef) => Effect.Effect<void, SimulatorHookError>
}

const hookError = (reason: "UnknownUser" | "UnknownPath" | "InvalidRequest", message: string) =>
  new SimulatorHookError({ reason, message })

const splitHookPath = (path: string): Effect.Effect<ReadonlyArray<string>, SimulatorHookError> => {
  const segments = path.split("/").filter((s) => s !== "")
  return segments.some((s) => s === "." || s === ".." || s.includes("\u0000"))
    ? Effect.fail(hookError("InvalidRequest", `Invalid path ${path}`))
    : Effect.succeed(segments)
}

const infoOf = (segments: ReadonlyArray<string>, node: DavNode): FileInfo => ({
  path: `/${key(segments)}`,
  type: node.kind === "dir" ? "directory" : "file",
  size: node.kind === "file" ? node.content.byteLength : 0,
  etag: node.etag,
  contentType: node.kind === "file" ? node.contentType : null,
  modified: node.modified
})

const makeDavControl = (state: DavState): DavControl => {
  const ready = (userId: string, path: string) =>
    Effect.gen(function* () {
      if (!state.sim.users.has(userId)) return yield* hookError("UnknownUser", `No user with uid ${userId}`)
      const segments = yield* splitHookPath(path)
      const at = yield* now(state.sim)
      return { segments, at, files: userFiles(state, userId, at) }
    })

  const mkdirs = (files: Map<string, DavNode>, segments: ReadonlyArray<string>, at: number) => {
    for (let i = 1; i <= segments.length; i++) {
      const k = key(segments.slice(0, i))
      const node = files.get(k)
      if (node === undefined) files.set(k, { kind: "dir", modified: at, etag: freshEtag(state), fileId: freshFileId(state) })
      else if (node.kind !== "dir") return false
    }
    return true
  }

  return {
    seedFile: Effect.fn("Simulator.seedFile")(function* (input: SeedFile) {
      const { segments, at, files } = yield* ready(input.userId, input.path)
      if (segments.length === 0) return yield* hookError("InvalidRequest", "A file needs a name")
      if (!mkdirs(files, segments.slice(0, -1), at)) return yield* hookError("InvalidRequest", "A parent is a file")
      if (files.get(key(segments))?.kind === "dir") return yield* hookError("InvalidRequest", "A folder exists there")
      const content =
        input.content !== undefined
          ? new Uint8Array(Buffer.from(input.content, "utf8"))
          : input.base64 !== undefined
            ? new Uint8Array(Buffer.from(input.base64, "base64"))
            : new Uint8Array(Buffer.alloc(Math.max(0, Math.floor(input.size ?? 0)), "x"))
      const previous = files.get(key(segments))
      const node: DavNode = {
        kind: "file",
        content,
        modified: at,
        etag: freshEtag(state),
        contentType: mimeOf(segments[segments.length - 1] ?? ""),
        fileId: previous?.fileId ?? freshFileId(state)
      }
      files.set(key(segments), node)
      touchAncestors(state, files, segments, at)
      return infoOf(segments, node)
    }),
    seedFolder: Effect.fn("Simulator.seedFolder")(function* (input: PathRef) {
      const { segments, at, files } = yield* ready(input.userId, input.path)
      if (!mkdirs(files, segments, at)) return yield* hookError("InvalidRequest", "A file exists on the way")
      touchAncestors(state, files, segments, at)
      const node = files.get(key(segments))
      return node === undefined ? yield* hookError("UnknownPath", "not created") : infoOf(segments, node)
    }),
    readFile: Effect.fn("Simulator.readFile")(function* (input: PathRef) {
      const { segments, files } = yield* ready(input.userId, input.path)
      const node = files.get(key(segments))
      if (node === undefined || node.kind !== "file") return yield* hookError("UnknownPath", `No file at ${input.path}`)
      const buffer = Buffer.from(node.content)
      return { ...infoOf(segments, node), content: buffer.toString("utf8"), base64: buffer.toString("base64") }
    }),
    listFiles: Effect.fn("Simulator.listFiles")(function* (userId: string) {
      const { files } = yield* ready(userId, "")
      return [...files.entries()]
        .filter(([k]) => k !== "")
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, node]) => infoOf(k.split("/"), node))
    }),
    setQuota: Effect.fn("Simulator.setQuota")(function* (input: { readonly userId: string; readonly bytes: number | null }) {
      if (!state.sim.users.has(input.userId)) return yield* hookError("UnknownUser", `No user with uid ${input.userId}`)
      if (input.bytes === null) state.quotas.delete(input.userId)
      else state.quotas.set(input.userId, Math.max(0, input.bytes))
    }),
    lockPath: Effect.fn("Simulator.lockPath")(function* (input: PathRef) {
      const { segments } = yield* ready(input.userId, input.path)
      state.locks.add(lockKey(input.userId, segments))
    }),
    unlockPath: Effect.fn("Simulator.unlockPath")(function* (input: PathRef) {
      const { segments } = yield* ready(input.userId, input.path)
      state.locks.delete(lockKey(input.userId, segments))
    })
  }
}

const SeedFileBody = Schema.Struct({
  userId: Schema.String,
  path: Schema.String,
  content: Schema.optional(Schema.String),
  base64: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(0, 512 * 1024 * 1024)))
})
const PathBody = Schema.Struct({ userId: Schema.String, path: Schema.String })
const QuotaBody = Schema.Struct({ userId: Schema.String, bytes: Schema.NullOr(Schema.Number.pipe(Schema.int(), Schema.nonNegative())) })

const hookRoutes = (control: DavControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/__sim/users/:userId/files", hook(Empty, (_, params) => control.listFiles(params["userId"] ?? ""))),
    HttpRouter.post("/__sim/files", hook(SeedFileBody, (input) => control.seedFile(input), 201)),
    HttpRouter.post("/__sim/files/read", hook(PathBody, (input) => control.readFile(input))),
    HttpRouter.post("/__sim/folders", hook(PathBody, (input) => control.seedFolder(input), 201)),
    HttpRouter.post("/__sim/quota", hook(QuotaBody, (input) => control.setQuota(input))),
    HttpRouter.post("/__sim/locks", hook(PathBody, (input) => control.lockPath(input))),
    HttpRouter.post("/__sim/locks/release", hook(PathBody, (input) => control.unlockPath(input)))
  )

const ROUTE_KEYS = ["dav.propfind", "dav.get", "dav.put", "dav.mkcol", "dav.move", "dav.copy", "dav.delete", "dav.search", "dav.other"] as const

const DAV_METHODS: Readonly<Record<string, (typeof ROUTE_KEYS)[number]>> = {
  PROPFIND: "dav.propfind",
  GET: "dav.get",
  HEAD: "dav.get",
  PUT: "dav.put",
  MKCOL: "dav.mkcol",
  MOVE: "dav.move",
  COPY: "dav.copy",
  DELETE: "dav.delete",
  SEARCH: "dav.search"
}

export const filesSimulator: SimulatorApp<DavControl> = {
  nextcloudApp: { id: "files", name: "Files" },
  routeKeys: ROUTE_KEYS,
  routeKey: (method, path) =>
    path.startsWith(DAV_PREFIX) || ((path === DAV_ROOT || path === `${DAV_ROOT}/`) && method === "SEARCH")
      ? (DAV_METHODS[method] ?? "dav.other")
      : undefined,
  hookEndpoints: [
    "GET    /__sim/users/{userId}/files             a user's files and folders (WebDAV)",
    "POST   /__sim/files                            {userId, path, content? | base64? | size?} (folders created on the way)",
    "POST   /__sim/files/read                       {userId, path} -> {content, base64, size, etag, ...}",
    "POST   /__sim/folders                          {userId, path}",
    "POST   /__sim/quota                            {userId, bytes|null} (PUT beyond it: 507)",
    "POST   /__sim/locks                            {userId, path} (writes: 423)",
    "POST   /__sim/locks/release                    {userId, path}"
  ],
  mount: (sim) => {
    const state = makeDavState(sim)
    const control = makeDavControl(state)
    // WebDAV methods (PROPFIND, MKCOL, MOVE) are not router methods: DAV paths get their own dispatcher.
    return { routes: HttpRouter.empty, serves: { path: isDavPath, app: davApp(state) }, hooks: hookRoutes(control), control }
  },
  remote: (call) => {
    const done = (): void => undefined
    return {
      seedFile: (input) => call("POST", "/files", input),
      seedFolder: (input) => call("POST", "/folders", input),
      readFile: (input) => call("POST", "/files/read", input),
      listFiles: (userId) => call("GET", `/users/${encodeURIComponent(userId)}/files`),
      setQuota: (input) => call("POST", "/quota", input).then(done),
      lockPath: (input) => call("POST", "/locks", input).then(done),
      unlockPath: (input) => call("POST", "/locks/release", input).then(done)
    }
  }
}
