/**
 * A scripted Nextcloud for unit tests: Login Flow v2 and the OCS calls as
 * in-memory fakes. The test acts as the browser (`grant`) and injects poll
 * failures; the fake records revoked app passwords and how often it was asked.
 */
import { Effect, Layer, Redacted } from "effect"
import { LoginFlowClient, type PollResult } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { Ocs } from "../../src/nextcloud/Ocs.js"
import { NextcloudProtocolError, NextcloudTransportError } from "../../src/nextcloud/errors.js"

export const NC_HOST = "http://nc.test"

interface FakeFlow {
  readonly token: string
  readonly loginUrl: string
  granted: { readonly loginName: string; readonly appPassword: string } | null
  consumed: boolean
}

export type PollFault = "timeout" | "unreachable" | "502" | "malformed"

export interface FakeNextcloud {
  readonly flows: Array<FakeFlow>
  /** App passwords revoked through OCS, in order. */
  readonly revoked: Array<string>
  readonly counts: { initiate: number; poll: number; currentUser: number }
  /** Act as the browser: approve the flow with this login URL; returns the new app password. */
  readonly grant: (loginUrl: string, loginName?: string) => string
  /** The next `n` polls fail like this. */
  readonly failPolls: (fault: PollFault, n?: number) => void
  /** Nextcloud config, Login Flow and OCS layers over this fake. */
  readonly layer: Layer.Layer<NextcloudConfig | LoginFlowClient | Ocs>
}

export const makeFakeNextcloud = (): FakeNextcloud => {
  const flows: Array<FakeFlow> = []
  const revoked: Array<string> = []
  const counts = { initiate: 0, poll: 0, currentUser: 0 }
  const faults: Array<PollFault> = []
  let passwords = 0

  const pollFault = (fault: PollFault) =>
    fault === "timeout" || fault === "unreachable"
      ? new NextcloudTransportError({ operation: "poll", reason: fault, cause: "scripted" })
      : new NextcloudProtocolError({
          operation: "poll",
          status: fault === "502" ? 502 : 200,
          detail: fault === "502" ? "Bad Gateway" : "malformed body"
        })

  const loginFlow = Layer.succeed(LoginFlowClient, {
    initiate: Effect.sync(() => {
      counts.initiate++
      const n = flows.length + 1
      const flow: FakeFlow = {
        token: `poll-token-${n}-${"s".repeat(20)}`,
        loginUrl: `${NC_HOST}/index.php/login/v2/flow/flow${n}`,
        granted: null,
        consumed: false
      }
      flows.push(flow)
      return {
        loginUrl: Redacted.make(flow.loginUrl),
        pollEndpoint: `${NC_HOST}/index.php/login/v2/poll`,
        pollToken: Redacted.make(flow.token)
      }
    }),
    poll: (_endpoint, pollToken) =>
      Effect.suspend((): Effect.Effect<PollResult, NextcloudTransportError | NextcloudProtocolError> => {
        counts.poll++
        const fault = faults.shift()
        if (fault !== undefined) return Effect.fail(pollFault(fault))
        const flow = flows.find((f) => f.token === Redacted.value(pollToken))
        if (flow === undefined || flow.granted === null || flow.consumed) return Effect.succeed({ _tag: "Pending" })
        flow.consumed = true
        return Effect.succeed({
          _tag: "Completed",
          credentials: {
            server: NC_HOST,
            loginName: flow.granted.loginName,
            appPassword: Redacted.make(flow.granted.appPassword)
          }
        })
      })
  })

  const ocs = Layer.succeed(Ocs, {
    currentUser: (credentials) =>
      Effect.sync(() => {
        counts.currentUser++
        return { id: `uid-${credentials.loginName}`, displayName: null }
      }),
    revokeAppPassword: (credentials) =>
      Effect.sync(() => {
        revoked.push(Redacted.value(credentials.appPassword))
      })
  })

  return {
    flows,
    revoked,
    counts,
    grant: (loginUrl, loginName = "alice") => {
      const flow = flows.find((f) => f.loginUrl === loginUrl)
      if (flow === undefined) throw new Error(`no such flow ${loginUrl}`)
      passwords++
      flow.granted = { loginName, appPassword: `app-password-${passwords}-${"x".repeat(24)}` }
      return flow.granted.appPassword
    },
    failPolls: (fault, n = 1) => {
      for (let i = 0; i < n; i++) faults.push(fault)
    },
    layer: Layer.mergeAll(loginFlow, ocs, NextcloudConfig.make(NC_HOST))
  }
}
