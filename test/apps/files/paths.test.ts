import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { davUrl } from "../../../src/apps/files/Client.js"
import { displayPath, isWithin, normalisePath } from "../../../src/apps/files/paths.js"

const host = new URL("https://cloud.example.org/nextcloud")
const ROOT = "/nextcloud/remote.php/dav/files/ada%40example.org/"

const ok = (raw: string) => {
  const result = normalisePath(raw)
  if (Either.isLeft(result)) throw new Error(`expected ${JSON.stringify(raw)} to be accepted: ${result.left}`)
  return result.right
}
const refused = (raw: string) => {
  const result = normalisePath(raw)
  expect(Either.isLeft(result), JSON.stringify(raw)).toBe(true)
  return Either.isLeft(result) ? result.left : ""
}

describe("normalisePath", () => {
  it("splits, drops empty and '.' segments, keeps names literally", () => {
    expect(ok("")).toEqual([])
    expect(ok("/")).toEqual([])
    expect(ok("Documents/notes.txt")).toEqual(["Documents", "notes.txt"])
    expect(ok("/Documents///./a b/")).toEqual(["Documents", "a b"])
    expect(ok("100%/x%20y")).toEqual(["100%", "x%20y"])
    expect(ok("...hidden/..x")).toEqual(["...hidden", "..x"])
    expect(displayPath(ok("a/b"))).toBe("/a/b")
    expect(displayPath([])).toBe("/")
  })

  it("refuses traversal, NUL and control characters, URLs", () => {
    expect(refused("../etc/passwd")).toContain("..")
    refused("a/../../b")
    refused("a/..")
    refused("a\u0000b")
    refused("a\nb")
    refused("https://evil.example/remote.php/dav/files/bob/")
    refused("file:///etc/passwd")
    refused("//evil.example/x")
    refused(" /x")
    refused("x".repeat(5000))
    refused(`${"y".repeat(256)}/z`)
  })

  it("keeps names exactly: NFD stays NFD; %2e, %2F, %5C, backslashes and colons are literal characters", () => {
    expect(ok("Cafe\u0301")).toEqual(["Cafe\u0301"])
    expect(ok("%2e%2e/secret")).toEqual(["%2e%2e", "secret"])
    expect(ok("a%2Fb/a%5Cb/%2e")).toEqual(["a%2Fb", "a%5Cb", "%2e"])
    expect(ok("a\\..\\b")).toEqual(["a\\..\\b"])
    expect(ok("Re:minutes.txt")).toEqual(["Re:minutes.txt"])
    expect(ok("mailto:x")).toEqual(["mailto:x"])
    // Encoded once per segment: the server decodes back to the literal name.
    expect(davUrl(host, "ada@example.org", ok("%2e%2e/a\\b")).pathname).toBe(`${ROOT}%252e%252e/a%5Cb`)
  })

  it("isWithin compares whole segments", () => {
    expect(isWithin(["a", "b"], ["a"])).toBe(true)
    expect(isWithin(["a"], ["a"])).toBe(true)
    expect(isWithin(["ab"], ["a"])).toBe(false)
    expect(isWithin(["a"], ["a", "b"])).toBe(false)
  })

  const segment = FastCheck.oneof(
    FastCheck.constantFrom("..", ".", "%2e%2e", "%2E%2E", ".%2e", "%252e%252e", "", "a", "b c", "%", "%2f", "\\", "..\\..", "?", "#", ";", "%3f", "~"),
    FastCheck.string({ maxLength: 8 }),
    FastCheck.stringMatching(/^[.%2eEfF5cC\\/]{1,6}$/)
  )
  const rawPath = FastCheck.tuple(
    FastCheck.constantFrom("", "/", "//", "./", "http://h/", "\\"),
    FastCheck.array(segment, { maxLength: 8 }),
    FastCheck.constantFrom("", "/")
  ).map(([prefix, segments, suffix]) => `${prefix}${segments.join("/")}${suffix}`)

  it.prop("no accepted path leaves the user's root once put into a URL", [rawPath], ([raw]) => {
    const result = normalisePath(raw)
    if (Either.isLeft(result)) return
    const segments = result.right
    for (const s of segments) {
      expect(s).not.toBe("..")
      expect(s).not.toBe(".")
      expect(s).not.toBe("")
      expect(s).not.toContain("/")
    }
    const url = davUrl(host, "ada@example.org", segments)
    expect(url.origin).toBe(host.origin)
    expect(url.pathname.startsWith(ROOT)).toBe(true)
    expect(url.search).toBe("")
    expect(url.hash).toBe("")
    // The URL names exactly the accepted segments, nothing collapsed or added.
    const below = url.pathname.slice(ROOT.length)
    expect(below === "" ? [] : below.split("/").map(decodeURIComponent)).toEqual(segments)
  })

  it.prop("accepting is idempotent", [rawPath], ([raw]) => {
    const result = normalisePath(raw)
    if (Either.isLeft(result)) return
    expect(normalisePath(displayPath(result.right))).toEqual(Either.right(result.right))
  })
})
