/**
 * `--help` as plain text: usage, options with their defaults, and the
 * environment variables the command reads (from the settings table), with no
 * colour codes, so it reads the same in a terminal, a pipe or a file.
 */
import { type CommandName, defaultFor, SETTINGS } from "../Config.js"

export interface OptionHelp {
  /** e.g. `--port <number>` */
  readonly flag: string
  readonly description: string
  readonly default?: string
}

export interface CommandHelp {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** Paragraphs after the usage line; one starting with two spaces is shown as it is (a command to copy). */
  readonly description: ReadonlyArray<string>
  readonly options: ReadonlyArray<OptionHelp>
  /** Whose variables to list (none for commands that read no settings). */
  readonly environment?: CommandName
}

const WIDTH = 80

/** Words wrapped to `width`, each line prefixed with `indent`. */
export const wrap = (text: string, indent: string, width = WIDTH): string => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  if (line !== "") lines.push(indent + line)
  return lines.join("\n")
}

export const COMMON_OPTIONS: ReadonlyArray<OptionHelp> = [
  { flag: "--log-level <level>", description: "debug, info, warn or error; wins over NC_MCP_LOG_LEVEL (logs go to stderr)." },
  { flag: "-h, --help", description: "Show this help." },
  { flag: "--version", description: "Show the version." }
]

const shownDefault = (text: string): string => (text === "required" || text.startsWith("required ") ? text : `default: ${text}`)

const optionLines = (options: ReadonlyArray<OptionHelp>): string =>
  options
    .map((o) =>
      [`  ${o.flag}`, wrap(`${o.description}${o.default === undefined ? "" : ` Default: ${o.default}.`}`, "      ")].join("\n")
    )
    .join("\n")

export const commandHelp = (program: string, command: CommandHelp): string => {
  const usage = `${program} ${command.name}${command.options.map((o) => ` [${o.flag}]`).join("")}`
  const parts = [`Usage: ${usage}`, ...command.description.map((p) => (p.startsWith("  ") ? p : wrap(p, "")))]
  parts.push(`Options:\n${optionLines([...command.options, ...COMMON_OPTIONS])}`)
  const env = command.environment
  if (env !== undefined) {
    const settings = SETTINGS.filter((s) => s.commands.includes(env))
    parts.push(
      `Environment:\n${settings
        .map((s) => `  ${s.name}\n${wrap(`${s.description} (${shownDefault(defaultFor(s, env))})`, "      ")}`)
        .join("\n")}`
    )
  }
  return `${parts.join("\n\n")}\n`
}

export const rootHelp = (program: string, version: string, summary: string, commands: ReadonlyArray<CommandHelp>): string => {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    `${program} ${version}`,
    wrap(summary, ""),
    `Usage: ${program} <command> [options]`,
    `Commands:\n${commands.map((c) => wrap(c.summary, " ".repeat(width + 4)).replace(/^ +/, `  ${c.name.padEnd(width)}  `)).join("\n")}`,
    `Options:\n${optionLines(COMMON_OPTIONS)}`,
    wrap(`Run '${program} <command> --help' for a command's options and environment variables.`, "")
  ].join("\n\n").concat("\n")
}
