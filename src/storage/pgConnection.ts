/**
 * How this application's PostgreSQL connections behave when the network
 * breaks. A silently dropped network never answers and never closes, so
 * without limits a query waits for TCP to give up (many minutes):
 *
 * - `connectTimeout`: opening a connection, and waiting for a free one in
 *   the pool.
 * - Server-side limits, added to the URL unless it sets them itself:
 *   `statement_timeout`, and `idle_in_transaction_session_timeout`, so a
 *   transaction whose client vanished releases its locks.
 * - `queryTimeout` (optional, node-postgres's `query_timeout`): a query's
 *   answer is given up after it. For connections outside the pool (LISTEN),
 *   whose statements otherwise wait for ever.
 * - `silenceLimit`: a socket with no traffic in either direction for this
 *   long is destroyed, so the pool drops it. A live connection in use always
 *   answers within `statement_timeout`, and idle ones leave the pool after
 *   10 s (node-postgres's default), so only dead connections go silent that
 *   long; without it a connection whose query was abandoned at a deadline
 *   would go back to the pool and stall the calls given it next.
 */
import * as net from "node:net"
import { Duration } from "effect"

export interface PgConnectionLimits {
  readonly connectTimeout: Duration.DurationInput
  readonly statementTimeout: Duration.DurationInput
  readonly idleInTransactionTimeout: Duration.DurationInput
  readonly queryTimeout?: Duration.DurationInput
  readonly silenceLimit: Duration.DurationInput
}

const millis = (d: Duration.DurationInput) => String(Math.max(1, Math.round(Duration.toMillis(d))))

/** `url` with the server-side limits (and `query_timeout`) added where it does not set them itself. */
export const withLimits = (url: URL, limits: PgConnectionLimits): URL => {
  const out = new URL(url.toString())
  const options = out.searchParams.get("options") ?? ""
  const setDefault = (key: string, value: string) => {
    if (!out.searchParams.has(key) && !options.includes(key)) out.searchParams.set(key, value)
  }
  setDefault("statement_timeout", millis(limits.statementTimeout))
  setDefault("idle_in_transaction_session_timeout", millis(limits.idleInTransactionTimeout))
  if (limits.queryTimeout !== undefined) setDefault("query_timeout", millis(limits.queryTimeout))
  return out
}

/** A socket factory for node-postgres: each socket is destroyed after `silenceLimit` without traffic. */
export const silenceLimitedSocket = (silenceLimit: Duration.DurationInput) => {
  const limit = Math.max(1, Math.round(Duration.toMillis(silenceLimit)))
  return (): net.Socket => {
    const socket = new net.Socket()
    socket.setTimeout(limit, () =>
      socket.destroy(new Error(`no traffic from the database for ${Duration.format(Duration.millis(limit))}`))
    )
    return socket
  }
}

/** The `PgClient.layer` options for `limits` (the URL is given separately, see {@link withLimits}). */
export const clientOptions = (limits: PgConnectionLimits) => ({
  connectTimeout: limits.connectTimeout,
  stream: silenceLimitedSocket(limits.silenceLimit)
})
