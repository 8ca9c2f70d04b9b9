/**
 * The Files tools' contract, run unchanged against two servers: the simulated
 * Nextcloud, and Apache httpd mod_dav (a real WebDAV server nobody here wrote)
 * at Nextcloud's files path, with the login flow and OCS passed on to the
 * simulator. Results are compared with what the server stored: the
 * simulator's files, or the bytes on Apache's disk.
 *
 * Each case is one of the ways Files tools broke on real servers, big folders
 * and odd names (folders per case, so the cases share one server).
 */
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { FastCheck } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ApacheServer, apacheAvailable, startApache } from "../../support/apache.js"
import { type Harness, startHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"

const UID = "ada-5c7e"
const LOGIN = "ada@example.org"

interface Entry {
  readonly name: string
  readonly path: string
  readonly type: "file" | "directory"
  readonly size: number | null
  readonly etag: string | null
  readonly url: string | null
  readonly unreadable?: boolean
}

interface Backend {
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<ToolResult>
  /** Put a file there as someone else would (folders created on the way). */
  readonly seed: (relative: string, content: string | Buffer) => Promise<void>
  /** The stored bytes, or null when nothing is there. */
  readonly bytes: (relative: string) => Promise<Buffer | null>
  readonly exists: (relative: string) => Promise<boolean>
  /** Someone else locks this file; returns the unlock. */
  readonly lock: (relative: string) => Promise<() => Promise<void>>
}

const ok = (r: ToolResult) => {
  expect(r.isError ?? false, JSON.stringify(r.structuredContent)).toBe(false)
  return r.structuredContent as Record<string, unknown>
}

const failed = (r: ToolResult, code: string) => {
  expect(r.isError, JSON.stringify(r.structuredContent)).toBe(true)
  expect(r.structuredContent).toMatchObject({ success: false, error_code: code })
  return r.structuredContent as Record<string, unknown> & { message: string }
}

const entriesOf = (r: ToolResult) => ok(r)["entries"] as ReadonlyArray<Entry>

const contract = (name: string, setup: () => Promise<{ backend: Backend; harness: Harness<never>; close: () => Promise<void> }>, kind: "sim" | "apache") =>
  describe(`Files contract: ${name}`, () => {
    let b: Backend
    let h: Harness<never>
    let close: () => Promise<void>
    beforeAll(async () => {
      const started = await setup()
      b = started.backend
      h = started.harness
      close = started.close
    }, 60_000)
    afterAll(async () => {
      await close?.()
    })

    it("list pages with limit and next_cursor, folders first then by name, with a glob pattern", async () => {
      for (let i = 0; i < 120; i++) await b.seed(`big/file-${i}.${i % 3 === 0 ? "pdf" : "txt"}`, `${i}`)
      await b.seed("big/Zeta/x.txt", "z")
      await b.seed("big/alpha/x.txt", "a")
      const seen: Array<Entry> = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = ok(await b.call("nc_files_list", { path: "big", ...(cursor === undefined ? {} : { cursor }) }))
        expect(page["total"]).toBe(122)
        expect((page["entries"] as Array<Entry>).length).toBeLessThanOrEqual(50)
        seen.push(...(page["entries"] as Array<Entry>))
        cursor = page["next_cursor"] as string | undefined
        pages++
      } while (cursor !== undefined && pages < 10)
      expect(pages).toBe(3)
      expect(seen.slice(0, 2).map((e) => [e.name, e.type])).toEqual([["alpha", "directory"], ["Zeta", "directory"]])
      expect(seen.slice(2, 5).map((e) => e.name)).toEqual(["file-0.pdf", "file-1.txt", "file-2.txt"])
      expect(new Set(seen.map((e) => e.path)).size).toBe(122)
      const pdfs = ok(await b.call("nc_files_list", { path: "big", pattern: "*.PDF", limit: 500 }))
      expect(pdfs["total"]).toBe(40)
      expect((pdfs["entries"] as Array<Entry>).every((e) => e.name.endsWith(".pdf"))).toBe(true)
      failed(await b.call("nc_files_list", { path: "big", pattern: "*.txt", cursor: seen.length > 0 ? "bogus" : "" }), "InvalidArguments")
    })

    it("depth lists subfolders too, in tree order, paged the same way", async () => {
      await b.seed("deep/z.txt", "z")
      await b.seed("deep/a/x.txt", "x")
      await b.seed("deep/a/b/c.txt", "c")
      await b.seed("deep/a/b/c/d.txt", "d")
      const two = entriesOf(await b.call("nc_files_list", { path: "deep", depth: 2 }))
      expect(two.map((e) => e.path)).toEqual(["/deep/a", "/deep/a/b", "/deep/a/x.txt", "/deep/z.txt"])
      const paths: Array<string> = []
      let cursor: string | undefined
      do {
        const page = ok(await b.call("nc_files_list", { path: "deep", depth: 3, limit: 2, ...(cursor === undefined ? {} : { cursor }) }))
        paths.push(...(page["entries"] as Array<Entry>).map((e) => e.path))
        cursor = page["next_cursor"] as string | undefined
      } while (cursor !== undefined && paths.length < 20)
      expect(paths).toEqual(["/deep/a", "/deep/a/b", "/deep/a/b/c", "/deep/a/b/c.txt", "/deep/a/x.txt", "/deep/z.txt"])
      const txt = entriesOf(await b.call("nc_files_list", { path: "deep", depth: 3, pattern: "*.txt" }))
      expect(txt.map((e) => e.name)).toEqual(["c.txt", "x.txt", "z.txt"])
    })

    it("search finds names and MIME types below a folder, bounded by limit", async () => {
      await b.seed("find/a/report-2024.pdf", "%PDF-1.4")
      await b.seed("find/a/b/Report-final.PDF", "%PDF-1.4")
      await b.seed("find/notes.txt", "n")
      await b.seed("elsewhere/report.pdf", "%PDF-1.4")
      const byName = ok(await b.call("nc_files_search", { query: "report", path: "find" }))
      expect((byName["results"] as Array<Entry>).map((e) => e.path).sort()).toEqual(["/find/a/b/Report-final.PDF", "/find/a/report-2024.pdf"])
      const one = ok(await b.call("nc_files_search", { query: "report", path: "find", limit: 1 }))
      expect(one["results"]).toHaveLength(1)
      expect(typeof one["next_cursor"]).toBe("string")
      const next = ok(await b.call("nc_files_search", { query: "report", path: "find", limit: 1, cursor: one["next_cursor"] }))
      expect(next["results"]).toHaveLength(1)
      expect((next["results"] as Array<Entry>)[0]?.path).not.toBe((one["results"] as Array<Entry>)[0]?.path)
      const byType = ok(await b.call("nc_files_search", { mime_type: "text/", path: "find" }))
      expect((byType["results"] as Array<Entry>).map((e) => e.path)).toEqual(["/find/notes.txt"])
      failed(await b.call("nc_files_search", { path: "find" }), "InvalidArguments")
    })

    it("a UTF-8 byte order mark survives read and an unchanged write", async () => {
      const original = Buffer.from("\ufeffname;amount\r\nÄpfel;3\r\n", "utf8")
      await b.seed("bom/export.csv", original)
      const read = ok(await b.call("nc_files_read", { path: "bom/export.csv" }))
      expect(read["content"]).toBe("\ufeffname;amount\r\nÄpfel;3\r\n")
      expect(read["size"]).toBe(original.byteLength)
      ok(await b.call("nc_files_write", { path: "bom/export.csv", content: read["content"], if_match: read["etag"] }))
      expect(await b.bytes("bom/export.csv")).toEqual(original)
    })

    it("if_match: the etag as given, bare or quoted, right after a write; a stale one is a Conflict", async () => {
      ok(await b.call("nc_files_mkdir", { path: "etag" }))
      const created = ok(await b.call("nc_files_write", { path: "etag/doc.txt", content: "one" }))
      expect(typeof created["etag"]).toBe("string")
      const read = ok(await b.call("nc_files_read", { path: "etag/doc.txt" }))
      const etag = read["etag"] as string
      if (kind === "sim") expect(etag).toMatch(/^"[0-9a-f]+"$/)
      // Within the same second (weak on Apache): still a match.
      ok(await b.call("nc_files_write", { path: "etag/doc.txt", content: "second", if_match: etag }))
      const stale = failed(await b.call("nc_files_write", { path: "etag/doc.txt", content: "third!!", if_match: etag }), "Conflict")
      expect(stale.message).toContain("changed")
      expect((await b.bytes("etag/doc.txt"))?.toString()).toBe("second")
      const current = ok(await b.call("nc_files_read", { path: "etag/doc.txt" }))["etag"] as string
      const strong = current.replace(/^W\//, "")
      if (strong === current) {
        // A strong etag works bare as well as quoted.
        ok(await b.call("nc_files_write", { path: "etag/doc.txt", content: "fourth!!", if_match: current.slice(1, -1) }))
      } else {
        ok(await b.call("nc_files_write", { path: "etag/doc.txt", content: "fourth!!", if_match: current }))
      }
      expect((await b.bytes("etag/doc.txt"))?.toString()).toBe("fourth!!")
    })

    it("Re:minutes.txt at the root is a name, not a URL", async () => {
      ok(await b.call("nc_files_write", { path: "Re:minutes.txt", content: "minutes" }))
      expect((await b.bytes("Re:minutes.txt"))?.toString()).toBe("minutes")
      const root = entriesOf(await b.call("nc_files_list", { pattern: "Re:*" }))
      expect(root.map((e) => e.path)).toEqual(["/Re:minutes.txt"])
      expect(ok(await b.call("nc_files_read", { path: "Re:minutes.txt" }))["content"]).toBe("minutes")
      ok(await b.call("nc_files_delete", { path: "Re:minutes.txt" }))
      expect(await b.exists("Re:minutes.txt")).toBe(false)
    })

    const oddName = FastCheck.oneof(
      FastCheck.constantFrom(
        "Cafe\u0301.txt",
        "e\u0301te\u0301",
        "%2e%2e",
        "%2e",
        "a%2Fb",
        "a%5Cb",
        "back\\slash",
        "..\\up",
        "Re:x",
        "100% sure",
        "a?b#c",
        "  spaced  ",
        "日本語.md",
        "emoji 🎉.txt",
        "&amp;<x>.xml",
        "+plus+",
        ";semi;"
      ),
      FastCheck.stringMatching(/^[A-Za-z0-9%\\:;#?&+ .é-]{1,12}$/).filter((s) => s.trim() !== "" && s !== "." && s !== "..")
    )

    it("every name that list returns can be read, moved and deleted as is", async () => {
      let run = 0
      await FastCheck.assert(
        FastCheck.asyncProperty(FastCheck.uniqueArray(oddName, { minLength: 1, maxLength: 3 }), async (names) => {
          const folder = `odd/${run++}`
          for (const [i, n] of names.entries()) await b.seed(`${folder}/${n}`, `content ${i}`)
          const listed = entriesOf(await b.call("nc_files_list", { path: folder }))
          expect(listed.map((e) => e.name).sort()).toEqual([...names].sort())
          for (const entry of listed) {
            const i = names.indexOf(entry.name)
            expect(ok(await b.call("nc_files_read", { path: entry.path }))["content"]).toBe(`content ${i}`)
            ok(await b.call("nc_files_move", { from: entry.path, to: `${entry.path}-moved` }))
            expect((await b.bytes(`${folder}/${entry.name}-moved`))?.toString()).toBe(`content ${i}`)
            ok(await b.call("nc_files_delete", { path: `${entry.path}-moved` }))
            expect(await b.exists(`${folder}/${entry.name}-moved`)).toBe(false)
          }
        }),
        { numRuns: kind === "sim" ? 25 : 15 }
      )
    }, 120_000)

    it("a folder with a file locked by someone else: delete and move answer Locked, and say so", async () => {
      await b.seed("locked/keep.txt", "k")
      await b.seed("locked/open.docx", "o")
      const unlock = await b.lock("locked/open.docx")
      const del = failed(await b.call("nc_files_delete", { path: "locked" }), "Locked")
      expect(del.message).toMatch(/lock/i)
      failed(await b.call("nc_files_move", { from: "locked", to: "moved-locked" }), "Locked")
      failed(await b.call("nc_files_write", { path: "locked/open.docx", content: "x" }), "Locked")
      expect(await b.exists("locked/keep.txt")).toBe(true)
      expect(await b.exists("locked/open.docx")).toBe(true)
      await unlock()
      ok(await b.call("nc_files_delete", { path: "locked" }))
      expect(await b.exists("locked")).toBe(false)
    })

    it("a missing parent is NotFound naming it, a file on the way is a Conflict, for write, mkdir, move and copy", async () => {
      await b.seed("parents/file.txt", "f")
      const write = failed(await b.call("nc_files_write", { path: "parents/nope/x.txt", content: "x" }), "NotFound")
      expect(write.message).toContain("/parents/nope does not exist")
      const mk = failed(await b.call("nc_files_mkdir", { path: "parents/nope/deeper" }), "NotFound")
      expect(mk.message).toContain("/parents/nope does not exist")
      const mv = failed(await b.call("nc_files_move", { from: "parents/file.txt", to: "parents/nope/file.txt" }), "NotFound")
      expect(mv.message).toContain("/parents/nope does not exist")
      failed(await b.call("nc_files_copy", { from: "parents/file.txt", to: "parents/nope/file.txt" }), "NotFound")
      const under = failed(await b.call("nc_files_write", { path: "parents/file.txt/x.txt", content: "x" }), "Conflict")
      expect(under.message).toContain("/parents/file.txt is a file")
      failed(await b.call("nc_files_mkdir", { path: "parents/file.txt/sub" }), "Conflict")
      const onto = failed(await b.call("nc_files_write", { path: "parents", content: "x" }), "Conflict")
      expect(onto.message).toContain("is a folder")
      failed(await b.call("nc_files_move", { from: "parents/missing.txt", to: "parents/y.txt" }), "NotFound")
    })

    it("folders: mkdir, list, move, copy and delete of a folder", async () => {
      expect(ok(await b.call("nc_files_mkdir", { path: "dirs/a/b", parents: true }))["status"]).toBe("created")
      ok(await b.call("nc_files_write", { path: "dirs/a/b/c.txt", content: "c" }))
      expect(ok(await b.call("nc_files_copy", { from: "dirs/a", to: "dirs/copy" }))["status"]).toBe("copied")
      expect((await b.bytes("dirs/copy/b/c.txt"))?.toString()).toBe("c")
      failed(await b.call("nc_files_copy", { from: "dirs/a", to: "dirs/copy" }), "Conflict")
      ok(await b.call("nc_files_move", { from: "dirs/a", to: "dirs/moved" }))
      expect(await b.exists("dirs/a")).toBe(false)
      expect((await b.bytes("dirs/moved/b/c.txt"))?.toString()).toBe("c")
      expect(entriesOf(await b.call("nc_files_list", { path: "dirs" })).map((e) => e.name)).toEqual(["copy", "moved"])
      ok(await b.call("nc_files_delete", { path: "dirs/moved" }))
      expect(await b.exists("dirs/moved")).toBe(false)
    })

    it("binary content: base64 in and out, byte for byte; results carry a url", async () => {
      const bytes = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0xfe, 0x80, 0x0a, 0x01])
      ok(await b.call("nc_files_mkdir", { path: "bin" }))
      const written = ok(await b.call("nc_files_write", { path: "bin/doc.pdf", content_base64: bytes.toString("base64") }))
      expect(written["size"]).toBe(bytes.byteLength)
      expect(await b.bytes("bin/doc.pdf")).toEqual(bytes)
      const read = ok(await b.call("nc_files_read", { path: "bin/doc.pdf" }))
      expect(read).toMatchObject({ encoding: "base64", content_base64: bytes.toString("base64"), size: bytes.byteLength })
      expect(String(read["url"])).toMatch(kind === "sim" ? /\/index\.php\/f\/\d+$/ : /\/index\.php\/apps\/files\/\?dir=%2Fbin&scrollto=doc\.pdf$/)
      const folder = entriesOf(await b.call("nc_files_list", { path: "/" })).find((e) => e.name === "bin")
      expect(folder?.url).toMatch(/\/index\.php\/apps\/files\/\?dir=%2Fbin$/)
      failed(await b.call("nc_files_write", { path: "bin/x", content_base64: "not base64!" }), "InvalidArguments")
      failed(await b.call("nc_files_write", { path: "bin/x", content: "a", content_base64: "YQ==" }), "InvalidArguments")
    })

    if (kind === "apache") {
      it("a name that is not UTF-8 is listed as unreadable; the rest of the folder is listed", async () => {
        await b.seed("latin1/good.txt", "g")
        await b.seed("latin1/\u0000raw:caf\xe9.txt", "bad")
        const listed = entriesOf(await b.call("nc_files_list", { path: "latin1" }))
        expect(listed.map((e) => [e.name, e.unreadable ?? false])).toEqual([
          ["caf\ufffd.txt", true],
          ["good.txt", false]
        ])
        expect(listed[0]?.url).toBeNull()
        expect(ok(await b.call("nc_files_list", { path: "latin1" }))["message"]).toContain("not valid UTF-8")
      })
    }
  })

// ---------------------------------------------------------------------------

const simulatedBackend = async () => {
  const harness = (await startHarness({ user: "ada-local" })) as unknown as Harness<never>
  const sim = harness.sim as unknown as {
    seedFile: (input: { userId: string; path: string; base64: string }) => Promise<unknown>
    readFile: (input: { userId: string; path: string }) => Promise<{ base64: string }>
    listFiles: (userId: string) => Promise<ReadonlyArray<{ path: string }>>
    lockPath: (input: { userId: string; path: string }) => Promise<void>
    unlockPath: (input: { userId: string; path: string }) => Promise<void>
  }
  await harness.provision(["files.read", "files.write"])
  const backend: Backend = {
    call: harness.call,
    seed: async (relative, content) => {
      await sim.seedFile({ userId: UID, path: relative, base64: Buffer.from(content).toString("base64") })
    },
    bytes: async (relative) => {
      try {
        return Buffer.from((await sim.readFile({ userId: UID, path: relative })).base64, "base64")
      } catch {
        return null
      }
    },
    exists: async (relative) => (await sim.listFiles(UID)).some((f) => f.path === `/${relative}`),
    lock: async (relative) => {
      await sim.lockPath({ userId: UID, path: relative })
      return () => sim.unlockPath({ userId: UID, path: relative })
    }
  }
  return { backend, harness, close: harness.close }
}

const NOBODY = 65534
const isRoot = typeof process.getuid === "function" && process.getuid() === 0

const apacheBackend = async () => {
  let apache: ApacheServer | undefined
  const harness = (await startHarness({
    user: "ada-local",
    host: async (simulatorUrl) => {
      apache = await startApache([{ userId: UID, loginName: LOGIN, password: "not-yet" }], { fallback: simulatorUrl })
      return apache.url
    }
  })) as unknown as Harness<never>
  const server = apache as unknown as ApacheServer
  const password = await harness.provision(["files.read", "files.write"])
  server.setPassword(LOGIN, password)
  const root = server.filesFolder(UID)
  /** `\u0000raw:` marks a name given as Latin-1 bytes (not UTF-8). */
  const onDisk = (relative: string): string | Buffer =>
    relative.includes("\u0000raw:") ? Buffer.from(path.join(root, relative.replace("\u0000raw:", "")), "latin1") : path.join(root, relative)
  const backend: Backend = {
    call: harness.call,
    seed: async (relative, content) => {
      const parts = relative.split("/")
      for (let i = 1; i < parts.length; i++) {
        const dir = path.join(root, ...parts.slice(0, i))
        if (!existsSync(dir)) {
          mkdirSync(dir)
          if (isRoot) chownSync(dir, NOBODY, NOBODY)
        }
      }
      const file = onDisk(relative)
      writeFileSync(file, content)
      if (isRoot) chownSync(file, NOBODY, NOBODY)
    },
    bytes: async (relative) => {
      try {
        return readFileSync(onDisk(relative))
      } catch {
        return null
      }
    },
    exists: async (relative) => existsSync(onDisk(relative)),
    lock: async (relative) => {
      // A lock taken over WebDAV by another client: its token is never sent by the tools.
      const url = `${server.url}/remote.php/dav/files/${UID}/${relative.split("/").map(encodeURIComponent).join("/")}`
      const basic = { authorization: `Basic ${Buffer.from(`${LOGIN}:${password}`).toString("base64")}` }
      const locked = await fetch(url, {
        method: "LOCK",
        headers: { ...basic, depth: "0", timeout: "Second-600", "content-type": "application/xml" },
        body: '<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype><d:owner>someone else</d:owner></d:lockinfo>'
      })
      expect(locked.status).toBe(200)
      const token = locked.headers.get("lock-token") ?? ""
      return async () => {
        const unlocked = await fetch(url, { method: "UNLOCK", headers: { ...basic, "lock-token": token } })
        expect(unlocked.status).toBe(204)
      }
    }
  }
  return {
    backend,
    harness,
    close: async () => {
      await harness.close()
      await server.stop()
    }
  }
}

contract("simulated Nextcloud", simulatedBackend, "sim")
if (apacheAvailable("Files contract: Apache httpd mod_dav")) contract("Apache httpd mod_dav", apacheBackend, "apache")
