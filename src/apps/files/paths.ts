/**
 * Paths that tools accept for the user's Nextcloud files. A path is relative
 * to the user's files root (`/remote.php/dav/files/<uid>/`); whatever the
 * caller sends, the result can only name something under that root.
 *
 * Refused rather than "repaired": `..` segments (also percent-encoded, e.g.
 * `%2e%2e`), backslashes, NUL and other control characters, URLs
 * (`scheme:` or `//host`), segments that decode to a slash, and overlong
 * paths. `.` segments, repeated and leading/trailing slashes are dropped.
 * Segments are kept literally (a `%` in a name stays a `%`) and are encoded
 * one by one when the request URL is built, so nothing the URL parser does
 * with dot segments can apply to them.
 */
import { Either } from "effect"

export const MAX_PATH_LENGTH = 4096
export const MAX_SEGMENT_BYTES = 255

/** A normalised path: its segments, none empty, `.` or `..`. The root is `[]`. */
export type PathSegments = ReadonlyArray<string>

// biome-ignore lint: control characters are exactly what is matched here
const CONTROL = /[\u0000-\u001f\u007f]/

const tryDecode = (segment: string): string => {
  // Repeat so that double encoding (%252e%252e) cannot hide a dot segment either.
  let current = segment
  for (let i = 0; i < 3; i++) {
    const decoded = Either.getOrElse(
      Either.try(() => decodeURIComponent(current)),
      () => current
    )
    if (decoded === current) return current
    current = decoded
  }
  return current
}

/** Split and check a caller's path. `Left` carries a reason for a person. */
export const normalisePath = (raw: string): Either.Either<PathSegments, string> => {
  if (raw.length > MAX_PATH_LENGTH) return Either.left(`the path is longer than ${MAX_PATH_LENGTH} characters`)
  if (CONTROL.test(raw)) return Either.left("the path contains a NUL or control character")
  if (raw.includes("\\")) return Either.left("the path contains a backslash; use / to separate folders")
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(raw.trim()) || raw.trim().startsWith("//")) {
    return Either.left("give a path inside your files (e.g. Documents/notes.txt), not a URL")
  }
  const segments: Array<string> = []
  for (const part of raw.normalize("NFC").split("/")) {
    if (part === "" || part === ".") continue
    const decoded = tryDecode(part)
    if (part === ".." || decoded === ".." || decoded === ".") {
      return Either.left("the path contains a '..' segment; paths cannot leave your files")
    }
    if (decoded.includes("/") || decoded.includes("\\") || CONTROL.test(decoded)) {
      return Either.left("the path contains an encoded slash, backslash or control character")
    }
    if (part.trim() === "") return Either.left("a folder or file name is blank")
    if (Buffer.byteLength(part, "utf8") > MAX_SEGMENT_BYTES) {
      return Either.left(`a folder or file name is longer than ${MAX_SEGMENT_BYTES} bytes`)
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
