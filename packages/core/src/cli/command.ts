/** One `lookout` sub-command. Each lives in cli/commands/<name>.ts as its default export. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface CliCommand {
  name: string;
  /** One line for `lookout --help`. */
  summary: string;
  /** Full text for `lookout <name> --help`. */
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}
