/**
 * Contract suites run against real servers from the Debian packages as well as
 * against the simulated Nextcloud. Locally a suite whose server is not
 * installed is skipped, under a title that says why and how to get it; under
 * CI=true (where .ci/run installs them) that is a failure.
 */
import type { ChildProcess } from "node:child_process"
import { existsSync, rmSync } from "node:fs"
import { createConnection, createServer as createTcpServer } from "node:net"
import { describe, expect, it } from "vitest"

export const serversRequired = process.env["CI"] === "true"

/**
 * Whether `binary` exists. When it does not, registers a skipped suite (or,
 * under CI=true, a failing test) titled after `what` with the install hint.
 */
export const serverInstalled = (what: string, binary: string, install: string): boolean => {
  if (existsSync(binary)) return true
  if (serversRequired) {
    describe(what, () => {
      it(`${binary} must be installed under CI=true`, () => {
        expect.fail(`${binary} is missing: ${install}`)
      })
    })
  } else {
    describe.skip(`${what} — skipped: ${binary} is not installed (${install})`, () => {
      it("needs the real server", () => undefined)
    })
  }
  return false
}

/** A port on 127.0.0.1 that was free a moment ago (the caller retries if another process takes it first). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createTcpServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

/** Whether something accepts connections on 127.0.0.1:`port` (a server started by a harness is ready). */
export const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** The pause between readiness probes of a starting server (not a wait for an outcome). */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A server process the test started, stopped with it: SIGTERM when the test
 * runner exits or on `kill`, and `stop` (that, then wait for the exit and
 * remove its folder).
 */
export const ownedProcess = (child: ChildProcess, dir: string) => {
  const kill = () => {
    process.off("exit", kill)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
  }
  process.once("exit", kill)
  return {
    kill,
    stop: async () => {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve()
        else child.once("exit", () => resolve())
      })
      kill()
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
