/**
 * Contract suites run against real servers from the Debian packages as well as
 * against the simulated Nextcloud. Locally a suite whose server is not
 * installed is skipped, under a title that says why and how to get it; under
 * CI=true (where .ci/run installs them) that is a failure.
 */
import { existsSync } from "node:fs"
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
