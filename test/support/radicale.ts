/**
 * Radicale (Debian's `radicale` package) as a real CalDAV/CardDAV server for
 * the contract suites, started per suite on 127.0.0.1 with its own folder,
 * behind a small proxy that makes it appear at Nextcloud's DAV paths:
 *
 *   /remote.php/dav/principals/users/<uid>/        ↔ /<uid>/
 *   /remote.php/dav/calendars/<uid>/<cal>/…        ↔ /<uid>/calendars/<cal>/…
 *   /remote.php/dav/addressbooks/users/<uid>/<ab>/… ↔ /<uid>/addressbooks/<ab>/…
 *
 * Radicale mounts itself under `X-Script-Name`, so its hrefs already carry
 * `/remote.php/dav`; the proxy maps the rest of the path both ways (request
 * paths, `Destination`, hrefs in request and response bodies, `Location`).
 * The principal and both homes are all `/<uid>/` on Radicale, so hrefs inside
 * `calendar-home-set` / `addressbook-home-set` are mapped by their element.
 *
 * Each user starts with Nextcloud's default collections: the `personal`
 * calendar (VEVENT and VTODO here, so tasks have a home on both servers), the
 * read-only `contact_birthdays` calendar, the `contacts` address book and the
 * read-only system address book `z-server-generated--system`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, request, type Server, type ServerResponse } from "node:http"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { connects, freePort, ownedProcess, serverInstalled, sleep } from "./realServers.js"

export const RADICALE = "/usr/bin/radicale"

const DAV = "/remote.php/dav"

export interface RadicaleUser {
  readonly userId: string
  readonly password: string
}

export interface RadicaleServer {
  /** The proxy's origin, used as NEXTCLOUD_HOST: `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly users: ReadonlyArray<RadicaleUser>
  /** Files Radicale keeps for a user's collection (e.g. to look at what was stored). */
  readonly collectionFolder: (userId: string, kind: "calendars" | "addressbooks", name: string) => string
  readonly stop: () => Promise<void>
}

/** Whether Radicale is installed; registers a skipped (locally) or failing (CI) suite when not. */
export const radicaleAvailable = (what: string): boolean =>
  serverInstalled(what, RADICALE, "apt-get install radicale; .ci/run installs it")

const RIGHTS = `[root]
user: .+
collection:
permissions: R
[principal]
user: .+
collection: {user}
permissions: RW
[homes]
user: .+
collection: {user}/(calendars|addressbooks)
permissions: RW
[read-only]
user: .+
collection: {user}/(calendars/contact_birthdays|addressbooks/z-server-generated--system)
permissions: r
[collections]
user: .+
collection: {user}/(calendars|addressbooks)/[^/]+
permissions: rw
`

const config = (dir: string, port: number) => `[server]
hosts = 127.0.0.1:${port}
max_connections = 20
[auth]
type = htpasswd
htpasswd_filename = ${dir}/users
htpasswd_encryption = plain
delay = 0
[rights]
type = from_file
file = ${dir}/rights
[storage]
filesystem_folder = ${dir}/collections
[web]
type = none
[logging]
level = warning
`

/** Nextcloud's default collections, written as Radicale stores them (it reads the tree on every request). */
const seed = (dir: string, userId: string) => {
  const root = path.join(dir, "collections", "collection-root", userId)
  const collections: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ["calendars/personal", { tag: "VCALENDAR", "D:displayname": "Personal", "C:supported-calendar-component-set": "VEVENT,VTODO" }],
    ["calendars/contact_birthdays", { tag: "VCALENDAR", "D:displayname": "Contact birthdays", "C:supported-calendar-component-set": "VEVENT" }],
    ["addressbooks/contacts", { tag: "VADDRESSBOOK", "D:displayname": "Contacts" }],
    ["addressbooks/z-server-generated--system", { tag: "VADDRESSBOOK", "D:displayname": "Accounts" }]
  ]
  for (const [where, props] of collections) {
    mkdirSync(path.join(root, where), { recursive: true })
    writeFileSync(path.join(root, where, ".Radicale.props"), JSON.stringify(props))
  }
}

// --- path mapping --------------------------------------------------------------

/** A Nextcloud DAV path → Radicale's path (below its script name); null = not a DAV path. */
export const toRadicale = (ncPath: string): string | null => {
  if (ncPath === DAV || ncPath === `${DAV}/`) return "/"
  const rest = ncPath.startsWith(`${DAV}/`) ? ncPath.slice(DAV.length) : null
  if (rest === null) return null
  let m = /^\/principals\/users\/([^/]+)\/?$/.exec(rest)
  if (m !== null) return `/${m[1]}/`
  m = /^\/calendars\/([^/]+)(\/.*)?$/.exec(rest)
  if (m !== null) return `/${m[1]}/calendars${m[2] ?? "/"}`
  m = /^\/addressbooks\/users\/([^/]+)(\/.*)?$/.exec(rest)
  if (m !== null) return `/${m[1]}/addressbooks${m[2] ?? "/"}`
  return null
}

/** A Radicale href (already under `/remote.php/dav`) → the Nextcloud href; `home` for hrefs inside a home-set. */
export const toNextcloud = (href: string, home?: "calendar-home-set" | "addressbook-home-set"): string => {
  if (!href.startsWith(`${DAV}/`)) return href
  const rest = href.slice(DAV.length)
  let m = /^\/([^/]+)\/calendars(\/.*)?$/.exec(rest)
  if (m !== null) return `${DAV}/calendars/${m[1]}${m[2] ?? "/"}`
  m = /^\/([^/]+)\/addressbooks(\/.*)?$/.exec(rest)
  if (m !== null) return `${DAV}/addressbooks/users/${m[1]}${m[2] ?? "/"}`
  m = /^\/([^/]+)\/$/.exec(rest)
  if (m === null) return href
  if (home === "calendar-home-set") return `${DAV}/calendars/${m[1]}/`
  if (home === "addressbook-home-set") return `${DAV}/addressbooks/users/${m[1]}/`
  return `${DAV}/principals/users/${m[1]}/`
}

const HREF = /<((?:[A-Za-z0-9_-]+:)?href)>([^<]*)<\/\1>/g
const HOME_SET = /<((?:[A-Za-z0-9_-]+:)?(calendar-home-set|addressbook-home-set))>([\s\S]*?)<\/\1>/g

const responseXml = (xml: string) =>
  xml
    .replace(HOME_SET, (_all, tag: string, local: string, inner: string) =>
      `<${tag}>${inner.replace(HREF, (_a, t: string, h: string) => `<${t}>${toNextcloud(h, local as "calendar-home-set")}</${t}>`)}</${tag}>`
    )
    // Hrefs already mapped above come out unchanged: Nextcloud's paths do not match Radicale's shapes.
    .replace(HREF, (_all, t: string, h: string) => `<${t}>${toNextcloud(h)}</${t}>`)

const requestXml = (xml: string) =>
  xml.replace(HREF, (all, t: string, h: string) => {
    const mapped = toRadicale(new URL(h, "http://x").pathname)
    return mapped === null ? all : `<${t}>${DAV}${mapped}</${t}>`
  })

const isXml = (contentType: string | undefined) => /xml/i.test(contentType ?? "")

const proxy = (radicalePort: number) => (req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? "/", "http://x")
  const target = toRadicale(url.pathname)
  if (target === null) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not a DAV path\n")
    return
  }
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    let body = Buffer.concat(chunks)
    const headers: OutgoingHttpHeaders = { ...req.headers }
    delete headers["accept-encoding"] // Radicale would gzip, and the body could not be mapped
    delete headers["content-length"]
    delete headers["transfer-encoding"]
    headers["x-script-name"] = DAV
    if (body.length > 0 && isXml(req.headers["content-type"])) body = Buffer.from(requestXml(body.toString("utf8")))
    const destination = req.headers["destination"]
    if (typeof destination === "string") {
      const mapped = toRadicale(new URL(destination, "http://x").pathname)
      if (mapped !== null) headers["destination"] = `${DAV}${mapped}`
    }
    headers["content-length"] = String(body.length)
    const upstream = request(
      { host: "127.0.0.1", port: radicalePort, method: req.method, path: `${target}${url.search}`, headers },
      (answer) => {
        const parts: Array<Buffer> = []
        answer.on("data", (c: Buffer) => parts.push(c))
        answer.on("end", () => {
          let out = Buffer.concat(parts)
          const outHeaders = { ...answer.headers }
          if (isXml(answer.headers["content-type"])) out = Buffer.from(responseXml(out.toString("utf8")))
          if (typeof answer.headers.location === "string") {
            outHeaders.location = toNextcloud(new URL(answer.headers.location, "http://x").pathname)
          }
          delete outHeaders["transfer-encoding"]
          outHeaders["content-length"] = String(out.length)
          res.writeHead(answer.statusCode ?? 502, outHeaders).end(out)
        })
      }
    )
    upstream.on("error", (error) => res.writeHead(502, { "content-type": "text/plain" }).end(String(error)))
    upstream.end(body)
  })
}

/** Start Radicale with these users (plain passwords, as Basic auth sends them) and the proxy in front of it. */
export const startRadicale = async (users: ReadonlyArray<RadicaleUser>): Promise<RadicaleServer> => {
  const dir = mkdtempSync(path.join(tmpdir(), "ncmcp-radicale-"))
  const port = await freePort()
  writeFileSync(path.join(dir, "users"), users.map((u) => `${u.userId}:${u.password}\n`).join(""))
  writeFileSync(path.join(dir, "rights"), RIGHTS)
  writeFileSync(path.join(dir, "config"), config(dir, port))
  for (const user of users) seed(dir, user.userId)
  let log = ""
  const child: ChildProcess = spawn(RADICALE, ["--config", path.join(dir, "config")], { stdio: ["ignore", "pipe", "pipe"] })
  child.stdout?.on("data", (c: Buffer) => (log += c.toString("utf8")))
  child.stderr?.on("data", (c: Buffer) => (log += c.toString("utf8")))
  const owned = ownedProcess(child, dir)
  const deadline = Date.now() + 30_000
  while (!(await connects(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await owned.stop()
      throw new Error(`Radicale did not start on 127.0.0.1:${port}: ${log.slice(0, 2000)}`)
    }
    await sleep(25)
  }
  const server: Server = createServer(proxy(port))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const proxyPort = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    users,
    collectionFolder: (userId, kind, name) => path.join(dir, "collections", "collection-root", userId, kind, name),
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await owned.stop()
    }
  }
}
