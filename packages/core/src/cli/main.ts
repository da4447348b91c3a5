import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { CliCommand, CliIo } from './command.js';

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');

/** Commands are discovered from cli/commands/*.ts so each can be added without a shared registry. */
export async function loadCommands(): Promise<Map<string, CliCommand>> {
  const files = (await readdir(commandsDir)).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
  const commands = new Map<string, CliCommand>();
  for (const file of files.sort()) {
    const mod = (await import(pathToFileURL(path.join(commandsDir, file)).href)) as { default?: CliCommand };
    if (mod.default?.name) commands.set(mod.default.name, mod.default);
  }
  return commands;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write('Usage: lookout <command> [options]\n\nCommands:\n');
    for (const c of commands.values()) io.stdout.write(`  ${c.name.padEnd(10)} ${c.summary}\n`);
    io.stdout.write('\nRun `lookout <command> --help` for the options of one command.\n');
    return 0;
  }
  const command = commands.get(name);
  if (!command) {
    io.stderr.write(`lookout: unknown command "${name}". Known commands: ${[...commands.keys()].join(', ')}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage.endsWith('\n') ? command.usage : command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    return reportError(name, err, io);
  }
}

/** Typed errors print as "lookout <cmd>: <message> [code]"; usage errors exit 2 with a pointer to --help. */
function reportError(command: string, err: unknown, io: CliIo): number {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  io.stderr.write(`lookout ${command}: ${e.message}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
  if (code === 'cli.usage' || code === 'cli.model_source') {
    io.stderr.write(`Run \`lookout ${command} --help\` for the options.\n`);
    return 2;
  }
  if (process.env.LOOKOUT_DEBUG && e.stack) io.stderr.write(`${e.stack}\n`);
  return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`lookout: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
