/**
 * The shared DAV parsing the Files client relies on: names that are not
 * UTF-8, etags as sent, failed members of a multistatus, XML escaping.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { entriesOf, preconditionHeaders } from "../../../src/apps/files/Client.js"
import { hrefPath, hrefSegments, parseMultistatus, parseStatusMultistatus } from "../../../src/nextcloud/davMultistatus.js"
import { escapeXml } from "../../../src/nextcloud/davXml.js"

const right = <A>(e: Either.Either<A, string>): A => {
  if (Either.isLeft(e)) throw new Error(e.left)
  return e.right
}

const response = (href: string, etag: string) =>
  `<d:response><d:href>${href}</d:href><d:propstat><d:prop><d:resourcetype/><d:getetag>${etag}</d:getetag><oc:fileid>42</oc:fileid></d:prop>` +
  "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"

describe("DAV parsing for files", () => {
  it("a segment that is not UTF-8 is kept, with U+FFFD, and marked; bad % syntax is still refused", () => {
    expect(right(hrefPath("/f/caf%E9.txt"))).toEqual({ segments: ["f", "caf\ufffd.txt"], undecodable: true })
    expect(right(hrefPath("/f/e%CC%81"))).toEqual({ segments: ["f", "e\u0301"], undecodable: false })
    expect(Either.isLeft(hrefPath("/f/a%zz"))).toBe(true)
    expect(Either.isLeft(hrefSegments("/f/caf%E9.txt"))).toBe(true)
  })

  it("a listing with one undecodable name keeps the others; etags stay as sent; file ids are read", () => {
    const body =
      '<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">' +
      response("/remote.php/dav/files/u/", '"root"') +
      response("/remote.php/dav/files/u/bad%FF.txt", 'W/"5-abc"') +
      response("/remote.php/dav/files/u/good.txt", '"strong"') +
      "</d:multistatus>"
    const entries = right(entriesOf("test", ["remote.php", "dav", "files", "u"], right(parseMultistatus(body))).pipe(Either.mapLeft(String)))
    expect(entries.map((e) => [e.name, e.etag, e.unreadable, e.fileId])).toEqual([
      ["", '"root"', false, "42"],
      ["bad\ufffd.txt", 'W/"5-abc"', true, "42"],
      ["good.txt", '"strong"', false, "42"]
    ])
  })

  it("the failed members of a 207 / 424 answer", () => {
    const body =
      '<D:multistatus xmlns:D="DAV:"><D:response><D:href>/remote.php/dav/files/u/d/f.txt</D:href><D:status>HTTP/1.1 423 Locked</D:status></D:response>' +
      "<D:response><D:href>/remote.php/dav/files/u/d/</D:href><D:status>HTTP/1.1 424 Failed Dependency</D:status></D:response></D:multistatus>"
    expect(right(parseStatusMultistatus(body)).map((r) => [r.segments.join("/"), r.status])).toEqual([
      ["remote.php/dav/files/u/d/f.txt", 423],
      ["remote.php/dav/files/u/d", 424]
    ])
  })

  it("preconditions: strong etags as If-Match verbatim (bare ones quoted), weak ones in the If header", () => {
    expect(preconditionHeaders('"abc"')).toEqual({ "if-match": '"abc"' })
    expect(preconditionHeaders("abc")).toEqual({ "if-match": '"abc"' })
    expect(preconditionHeaders('W/"5-abc"')).toEqual({ if: '([W/"5-abc"])' })
  })

  it("escapes XML text and refuses what XML cannot carry", () => {
    expect(right(escapeXml(`a<b>&"c'`))).toBe("a&lt;b&gt;&amp;&quot;c&apos;")
    expect(right(escapeXml("日本 🎉"))).toBe("日本 🎉")
    expect(Either.isLeft(escapeXml("a\u0001b"))).toBe(true)
    expect(Either.isLeft(escapeXml("a\ud800b"))).toBe(true)
  })
})
