import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { parseMultistatus, unquoteEtag } from "../../src/nextcloud/davMultistatus.js"
import { MAX_DEPTH, parseXml, textOf } from "../../src/nextcloud/davXml.js"
import { entriesOf } from "../../src/apps/files/Client.js"

const right = <A, E>(e: Either.Either<A, E>): A => {
  if (Either.isLeft(e)) throw new Error(`expected Right, got ${String(e.left)}`)
  return e.right
}

const NEXTCLOUD = `<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
 <d:response>
  <d:href>/remote.php/dav/files/ada-5c7e/My%20Docs/</d:href>
  <d:propstat>
   <d:prop>
    <d:resourcetype><d:collection/></d:resourcetype>
    <d:getlastmodified>Tue, 10 Oct 2023 10:00:00 GMT</d:getlastmodified>
    <d:getetag>&quot;6525201c7a1b2&quot;</d:getetag>
    <oc:size>42</oc:size>
   </d:prop>
   <d:status>HTTP/1.1 200 OK</d:status>
  </d:propstat>
  <d:propstat>
   <d:prop><d:getcontentlength/><d:getcontenttype/></d:prop>
   <d:status>HTTP/1.1 404 Not Found</d:status>
  </d:propstat>
 </d:response>
 <d:response>
  <d:href>/remote.php/dav/files/ada-5c7e/My%20Docs/r%C3%A9sum%C3%A9%20%2B%20%25.md</d:href>
  <d:propstat>
   <d:prop>
    <d:resourcetype/>
    <d:getcontentlength>42</d:getcontentlength>
    <d:getcontenttype>text/markdown</d:getcontenttype>
    <d:getlastmodified>Wed, 11 Oct 2023 12:30:00 GMT</d:getlastmodified>
    <d:getetag>"a1b2c3"</d:getetag>
   </d:prop>
   <d:status>HTTP/1.1 200 OK</d:status>
  </d:propstat>
 </d:response>
</d:multistatus>`

describe("parseMultistatus", () => {
  it("reads Nextcloud's answer: folders, files, encoded hrefs, 404 propstats ignored", () => {
    const [dir, file] = right(parseMultistatus(NEXTCLOUD))
    expect(dir).toMatchObject({
      segments: ["remote.php", "dav", "files", "ada-5c7e", "My Docs"],
      isCollection: true,
      size: 42,
      modified: Date.UTC(2023, 9, 10, 10, 0, 0),
      etag: "6525201c7a1b2",
      contentType: null
    })
    expect(file).toMatchObject({
      segments: ["remote.php", "dav", "files", "ada-5c7e", "My Docs", "résumé + %.md"],
      isCollection: false,
      size: 42,
      etag: "a1b2c3",
      contentType: "text/markdown",
      displayName: null
    })
  })

  it("matches by namespace, not by prefix: D:, a default namespace, odd prefixes", () => {
    const upper = `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/f/a.txt</D:href><D:propstat><D:prop>
      <D:getcontentlength>7</D:getcontentlength><D:resourcetype/><D:displayname>a.txt</D:displayname></D:prop>
      <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`
    expect(right(parseMultistatus(upper))[0]).toMatchObject({ segments: ["f", "a.txt"], size: 7, displayName: "a.txt" })

    const defaultNs = `<multistatus xmlns="DAV:"><response><href>/f/</href><propstat><prop>
      <resourcetype><collection/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`
    expect(right(parseMultistatus(defaultNs))[0]).toMatchObject({ segments: ["f"], isCollection: true })

    const odd = `<x:multistatus xmlns:x="DAV:" xmlns:d="urn:not-dav"><x:response><x:href>/f/b</x:href><x:propstat><x:prop>
      <d:getcontentlength>99</d:getcontentlength><x:getcontentlength>3</x:getcontentlength>
      <x:resourcetype><d:collection/></x:resourcetype></x:prop><x:status>HTTP/1.1 200 OK</x:status></x:propstat></x:response></x:multistatus>`
    // d: is not DAV: here, so its getcontentlength and collection do not count.
    expect(right(parseMultistatus(odd))[0]).toMatchObject({ size: 3, isCollection: false })

    const redeclared = `<a:multistatus xmlns:a="DAV:"><a:response xmlns:a="urn:other"><a:href>/x</a:href></a:response></a:multistatus>`
    expect(right(parseMultistatus(redeclared))).toEqual([])
  })

  it("accepts absolute URLs as hrefs, W/ etags, CDATA, comments and character references", () => {
    const body = `<?xml version="1.0" encoding="utf-8"?><!-- hi --><d:multistatus xmlns:d="DAV:"><d:response>
      <d:href>https://cloud.example.org/remote.php/dav/files/a/x%26y&amp;z</d:href><d:propstat><d:prop>
      <d:getetag>W/"weak"</d:getetag><d:getcontenttype><![CDATA[text/plain]]></d:getcontenttype>
      <d:displayname>&#x41;&#66;&lt;</d:displayname></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`
    expect(right(parseMultistatus(body))[0]).toMatchObject({
      segments: ["remote.php", "dav", "files", "a", "x&y&z"],
      etag: "weak",
      contentType: "text/plain",
      displayName: "AB<"
    })
  })

  it("skips responses whose own status is a failure", () => {
    const body = `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/gone</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response></d:multistatus>`
    expect(right(parseMultistatus(body))).toEqual([])
  })

  it("refuses malformed or unexpected documents with a short reason", () => {
    for (const bad of [
      "",
      "not xml",
      "<d:multistatus xmlns:d=\"DAV:\">",
      "<d:multistatus xmlns:d=\"DAV:\"></d:response>",
      "<d:multistatus></d:multistatus>",
      "<multistatus xmlns=\"urn:x\"/>",
      "<!DOCTYPE x [<!ENTITY a \"b\">]><d:multistatus xmlns:d=\"DAV:\"/>",
      "<d:multistatus xmlns:d=\"DAV:\">&bogus;</d:multistatus>",
      "<d:multistatus xmlns:d=\"DAV:\"><d:response><d:href>/a%zz</d:href><d:propstat/></d:response></d:multistatus>",
      "<d:multistatus xmlns:d=\"DAV:\"><d:response><d:propstat/></d:response></d:multistatus>",
      "<a/><b/>"
    ]) {
      expect(Either.isLeft(parseMultistatus(bad)), bad).toBe(true)
    }
  })

  it("unquotes etags", () => {
    expect(unquoteEtag('"abc"')).toBe("abc")
    expect(unquoteEtag('W/"abc"')).toBe("abc")
    expect(unquoteEtag("abc")).toBe("abc")
  })
})

describe("parseXml", () => {
  it("self-closing elements, attributes with either quote, whitespace in tags", () => {
    const root = right(parseXml(`<r xmlns='urn:r' a="1" b = '2' ><c/><c  /><t>x &amp; y</t ></r>`))
    expect(root).toMatchObject({ ns: "urn:r", local: "r" })
    expect(root.children).toHaveLength(3)
    expect(textOf(root)).toBe("x & y")
  })

  it("text of nested elements in document order", () => {
    expect(textOf(right(parseXml("<r>a<b>b<c>c</c>d</b>e<f/>f</r>")))).toBe("abcdef")
  })

  it("accepts nesting up to MAX_DEPTH and refuses deeper", () => {
    const nested = (depth: number) => `${"<e>".repeat(depth)}x${"</e>".repeat(depth)}`
    expect(textOf(right(parseXml(nested(MAX_DEPTH))))).toBe("x")
    expect(parseXml(nested(MAX_DEPTH + 1))).toMatchObject({ _tag: "Left", left: expect.stringContaining(`nested deeper than ${MAX_DEPTH}`) })
  })
})

describe("hrefs are paths", () => {
  it("a host in an href is ignored, repeated slashes collapse, dot segments are refused", () => {
    const multistatus = (href: string) =>
      `<d:multistatus xmlns:d="DAV:"><d:response><d:href>${href}</d:href><d:propstat><d:prop/></d:propstat></d:response></d:multistatus>`
    expect(right(parseMultistatus(multistatus("//remote.php/dav/files/a/x")))[0]?.segments).toEqual(["remote.php", "dav", "files", "a", "x"])
    expect(right(parseMultistatus(multistatus("http://evil//remote.php//dav/files/a/")))[0]?.segments).toEqual(["remote.php", "dav", "files", "a"])
    expect(right(parseMultistatus(multistatus("/f/a%2Fb")))[0]?.segments).toEqual(["f", "a/b"])
    expect(Either.isLeft(parseMultistatus(multistatus("/remote.php/dav/files/a/../b/x")))).toBe(true)
    expect(Either.isLeft(parseMultistatus(multistatus("/remote.php/dav/files/a/%2e%2e/b")))).toBe(true)
  })
})

describe("entriesOf", () => {
  it("makes hrefs relative to the user's root and refuses ones outside it", () => {
    const resources = right(parseMultistatus(NEXTCLOUD))
    const root = ["remote.php", "dav", "files", "ada-5c7e"]
    const entries = right(entriesOf("test", root, resources))
    expect(entries.map((e) => e.path)).toEqual([["My Docs"], ["My Docs", "résumé + %.md"]])
    expect(entries[1]?.name).toBe("résumé + %.md")
    expect(Either.isLeft(entriesOf("test", ["remote.php", "dav", "files", "bob"], resources))).toBe(true)
  })
})
