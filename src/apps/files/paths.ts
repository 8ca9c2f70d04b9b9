/**
 * Paths that tools accept for the user's Nextcloud files. A path is relative
 * to the user's files root (`/remote.php/dav/files/<uid>/`); whatever the
 * caller sends, the result can only name something under that root.
 *
 * A name is taken exactly as written, so every name `nc_files_list` returns
 * works in every other tool: no Unicode normalisation (NFD names stay NFD,
 * servers compare bytes), and `%`, `\\` and `:` are ordinary characters (a
 * name `%2e%2e` or `a%2Fb` is that literal text). Segments are encoded one by
 * one when the request URL is built, so nothing in a name can add, remove or
 * climb a level.
 *
 * Refused rather than "repaired": `..` segments, NUL and other control
 * characters, URLs (`scheme://…` or `//host`), blank names, overlong paths
 * and names. `.` segments, repeated and leading/trailing slashes are dropped.
 */
import { Either } from "effect"

export const MAX_PATH_LENGTH = 4096
export const MAX_SEGMENT_BYTES = 255

/** A normalised path: its segments, none empty, `.` or `..`. The root is `[]`. */
export type PathSegments = ReadonlyArray<string>

// biome-ignore lint: control characters are exactly what is matched here
const CONTROL = /[\u0000-\u001f\u007f]/

/** Split and check a caller's path. `Left` carries a reason for a person. */
export const normalisePath = (raw: string): Either.Either<PathSegments, string> => {
  if (raw.length > MAX_PATH_LENGTH) return Either.left(`the path is longer than ${MAX_PATH_LENGTH} characters`)
  if (CONTROL.test(raw)) return Either.left("the path contains a NUL or control character")
  // A URL has `scheme://`; `Re:minutes.txt` is a name.
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw.trim()) || raw.trim().startsWith("//")) {
    return Either.left("give a path inside your files (e.g. Documents/notes.txt), not a URL")
  }
  const segments: Array<string> = []
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") return Either.left("the path contains a '..' segment; paths cannot leave your files")
    if (part.trim() === "") return Either.left("a folder or file name is blank")
    if (Buffer.byteLength(part, "utf8") > MAX_SEGMENT_BYTES) {
      return Either.left(`a folder or file name is longer than ${MAX_SEGMENT_BYTES} bytes`)
    }
    if (/[\ud800-\udfff]/.test(part.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) {
      return Either.left("a folder or file name contains an unpaired surrogate (not valid Unicode)")
    }
    segments.push(part)
  }
  return Either.right(segments)
}

/** `/a/b` for display and output (the root is `/`). */
export const displayPath = (segments: PathSegments): string => `/${segments.join("/")}`

export const isRoot = (segments: PathSegments): boolean => segments.length === 0

/** The parent folder's segments (the root's parent is the root). */
export const parentOf = (segments: PathSegments): PathSegments => segments.slice(0, -1)

/** true when `inner` is `outer` or lies below it. */
export const isWithin = (inner: PathSegments, outer: PathSegments): boolean =>
  inner.length >= outer.length && outer.every((segment, i) => inner[i] === segment)
