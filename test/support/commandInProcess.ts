/**
 * A command's program run in the test's process, as `nextcloud-mcp <command>`
 * would run it with exactly the given environment: its settings come from
 * `env` alone (a ConfigProvider), what it prints on stdout is collected, and
 * a failed start gives the one line the process would print on stderr
 * (`failureLine`, the function the process uses). For what a spawned process
 * would only repeat; exit codes, signals and stdout purity stay with real
 * processes.
 */
import { Console, ConfigProvider, Effect } from "effect"
import { failureLine, withStderrLogs } from "../../src/commands/startup.js"

export interface InProcessRun {
  /** The lines printed on stdout. */
  readonly stdout: ReadonlyArray<string>
  /** The stderr line of a failed start (with its newline); undefined when it succeeded. */
  readonly failure: string | undefined
}

export const runCommandInProcess = async (program: Effect.Effect<void, unknown>, env: Record<string, string>): Promise<InProcessRun> => {
  const stdout: Array<string> = []
  const console = Effect.runSync(Effect.console)
  const capturing: Console.Console = { ...console, log: (...args) => Effect.sync(() => void stdout.push(args.map(String).join(" "))) }
  const exit = await Effect.runPromiseExit(
    withStderrLogs(program).pipe(
      Effect.withConsole(capturing),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      // A server whose start got through would keep running: bound the wait (the suites' cases all end by themselves).
      Effect.timeout("20 seconds")
    )
  )
  return { stdout, failure: failureLine(exit) }
}
