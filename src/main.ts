#!/usr/bin/env node
/**
 * Entry point. `nextcloud-mcp stdio` — what a desktop client starts, and whose
 * start-up time it waits for — goes straight to the server; everything else
 * (options, --help, the other commands) goes through the full command line.
 */
const args = process.argv.slice(2)

if (args.length === 1 && args[0] === "stdio") {
  const [{ runProcess }, { runStdio }] = await Promise.all([
    import("./commands/startup.js"),
    import("./commands/stdio.js")
  ])
  runProcess(runStdio)
} else {
  await import("./cli.js")
}
