/**
 * Apache httpd with mod_dav (Debian's `apache2-bin`) as a real WebDAV server
 * for the Files contract suite, started per suite on 127.0.0.1 in its own
 * temporary folder with a generated configuration (`-f <conf> -DFOREGROUND`).
 *
 * Each user's files folder is mapped at Nextcloud's DAV path
 * (`Alias /remote.php/dav/files/<uid> <dir>`), so the WebDAV client works on
 * it unchanged. Basic auth checks an htpasswd file in `{SHA}` form that the
 * harness writes (and rewrites with `setPassword`; Apache reads it on every
 * request). Everything outside `/remote.php/dav` can be passed on to another
 * server (`fallback`, e.g. the simulated Nextcloud for the login flow and
 * OCS), so the whole product runs against Apache's WebDAV.
 *
 * Run as root, Apache switches to `nobody`/`nogroup`: the files folders and
 * the lock database belong to that user. ETags are `FileETag MTime Size`
 * (weak while the file's mtime is the current second, as Apache makes them).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { connects, freePort, ownedProcess, serverInstalled, sleep } from "./realServers.js"

export const APACHE = "/usr/sbin/apache2"
const MODULES = "/usr/lib/apache2/modules"

export interface ApacheUser {
  /** The Nextcloud user id: the folder below `/remote.php/dav/files/`. */
  readonly userId: string
  /** The Basic auth user name (Nextcloud's login name). */
  readonly loginName: string
  readonly password: string
}

export interface ApacheServer {
  /** `http://127.0.0.1:<port>`, used as NEXTCLOUD_HOST. */
  readonly url: string
  /** The folder on disk holding a user's files. */
  readonly filesFolder: (userId: string) => string
  /** Set (or change) a login's password. */
  readonly setPassword: (loginName: string, password: string) => void
  /** Make files written by the test (as root) Apache's, so it can change them. */
  readonly own: (file: string) => void
  /** What Apache logged so far (error log). */
  readonly log: () => string
  readonly stop: () => Promise<void>
}

/** Whether Apache is installed; registers a skipped (locally) or failing (CI) suite when not. */
export const apacheAvailable = (what: string): boolean =>
  serverInstalled(what, APACHE, "apt-get install apache2-bin media-types; .ci/run installs them")

const isRoot = typeof process.getuid === "function" && process.getuid() === 0
/** nobody / nogroup on Debian. */
const NOBODY = 65534

const sha = (password: string) => `{SHA}${createHash("sha1").update(password, "utf8").digest("base64")}`

const MODULE_NAMES = [
  "mpm_prefork",
  "authz_core",
  "authn_core",
  "authn_file",
  "auth_basic",
  "authz_user",
  "dav",
  "dav_fs",
  "dav_lock",
  "mime",
  "dir",
  "alias",
  "unixd",
  "headers",
  "setenvif",
  "proxy",
  "proxy_http"
]

const config = (dir: string, port: number, users: ReadonlyArray<ApacheUser>, fallback: string | undefined) => `
ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${dir}/httpd.pid"
ErrorLog "${dir}/error.log"
LogLevel warn
${MODULE_NAMES.map((m) => `<IfModule !${m}_module>\n  LoadModule ${m}_module ${MODULES}/mod_${m}.so\n</IfModule>`).join("\n")}
${isRoot ? "User nobody\nGroup nogroup" : ""}
StartServers 2
MinSpareServers 1
MaxSpareServers 4
MaxRequestWorkers 20
KeepAlive On
TypesConfig /etc/mime.types
DocumentRoot "${dir}/empty"
DavLockDB "${dir}/lock/lockdb"
FileETag MTime Size
LimitXMLRequestBody 0
<Directory />
  AllowOverride None
  Require all denied
</Directory>
${users
  .map(
    (u) => `Alias "/remote.php/dav/files/${u.userId}" "${dir}/files/${u.userId}"
<Directory "${dir}/files/${u.userId}">
  Dav On
  AuthType Basic
  AuthName "Nextcloud"
  AuthBasicProvider file
  AuthUserFile "${dir}/htpasswd"
  Require user ${u.loginName}
  Options None
  AllowOverride None
  DirectoryIndex disabled
</Directory>`
  )
  .join("\n")}
${
  fallback === undefined
    ? ""
    : `ProxyPass "/remote.php/dav" "!"
ProxyPass "/" "${fallback}/"
ProxyPassReverse "/" "${fallback}/"`
}
`

/** Start Apache with these users; `fallback` receives every request outside `/remote.php/dav`. */
export const startApache = async (users: ReadonlyArray<ApacheUser>, options: { readonly fallback?: string } = {}): Promise<ApacheServer> => {
  const dir = mkdtempSync(path.join(tmpdir(), "ncmcp-apache-"))
  // Apache's workers (nobody) must reach the files folders below it.
  chmodSync(dir, 0o755)
  const own = (file: string) => {
    if (isRoot) chownSync(file, NOBODY, NOBODY)
  }
  mkdirSync(path.join(dir, "empty"))
  mkdirSync(path.join(dir, "lock"))
  own(path.join(dir, "lock"))
  for (const u of users) {
    mkdirSync(path.join(dir, "files", u.userId), { recursive: true })
    own(path.join(dir, "files", u.userId))
  }
  const passwords = new Map(users.map((u) => [u.loginName, u.password]))
  const writePasswords = () =>
    writeFileSync(path.join(dir, "htpasswd"), [...passwords].map(([name, pw]) => `${name}:${sha(pw)}\n`).join(""), { mode: 0o644 })
  writePasswords()

  let attempt = 0
  for (;;) {
    attempt++
    const port = await freePort()
    writeFileSync(path.join(dir, "httpd.conf"), config(dir, port, users, options.fallback))
    let output = ""
    const child: ChildProcess = spawn(APACHE, ["-f", path.join(dir, "httpd.conf"), "-DFOREGROUND"], {
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: on shutdown Apache signals its whole group, which must not be the test runner's.
      detached: true,
      env: { ...process.env, APACHE_RUN_DIR: dir, APACHE_LOCK_DIR: dir, APACHE_LOG_DIR: dir }
    })
    child.stdout?.on("data", (c: Buffer) => (output += c.toString("utf8")))
    child.stderr?.on("data", (c: Buffer) => (output += c.toString("utf8")))
    const owned = ownedProcess(child, dir)
    const log = () => {
      let errors = ""
      try {
        errors = readFileSync(path.join(dir, "error.log"), "utf8")
      } catch {
        // not written yet
      }
      return `${output}${errors}`
    }
    const deadline = Date.now() + 30_000
    let up = false
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      if (await connects(port)) {
        up = true
        break
      }
      await sleep(25)
    }
    if (!up) {
      owned.kill()
      const text = log()
      // Another process took the port between the probe and Apache's bind: try another one.
      if (attempt < 5 && /Address already in use|could not bind/i.test(text)) continue
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`Apache did not start on 127.0.0.1:${port}: ${text.slice(0, 2000)}`)
    }
    return {
      url: `http://127.0.0.1:${port}`,
      filesFolder: (userId) => path.join(dir, "files", userId),
      setPassword: (loginName, password) => {
        passwords.set(loginName, password)
        writePasswords()
      },
      own,
      log,
      stop: owned.stop
    }
  }
}
