import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { sparePort } from '../helpers/processes.ts';

// `npm run build` writes dist/main.js, the production start; `node dist/main.js` must need
// nothing that `npm ci --omit=dev` leaves out.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'sharegraph-dist-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
}

/** The package a path inside node_modules belongs to (`@scope/name` or `name`), by its innermost node_modules. */
const packageOf = (path: string) => {
  const rest = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
  return {
    name: rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0],
    at: path.slice(0, path.lastIndexOf('node_modules/')),
  };
};

it('bundles and imports production dependencies only', { timeout: 120_000 }, async () => {
  const script = join(ROOT, 'scripts/build.mjs'); // plain JavaScript: typed here, not by tsc
  const { buildDist } = (await import(script)) as { buildDist(): Promise<Metafile> };
  const meta = await buildDist();
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const bundled = Object.keys(meta.inputs)
    .filter((input) => input.includes('node_modules/'))
    .map((input) => packageOf(input));
  const external = Object.values(meta.outputs)
    .flatMap((output) => output.imports)
    .filter((i) => i.external && !i.path.startsWith('node:') && !builtinModules.includes(i.path.split('/')[0] ?? ''))
    .map((i) => ({
      name: i.path.startsWith('@') ? i.path.split('/').slice(0, 2).join('/') : i.path.split('/')[0],
      at: '',
    }));
  const used = new Map([...bundled, ...external].map((p) => [`${p.at}node_modules/${p.name}`, p.name]));
  expect(used.size).toBeGreaterThan(10);
  const devOnly = [...used.keys()].filter((key) => {
    const entry = lock.packages[key];
    return !entry || entry.dev === true;
  });
  expect(devOnly).toEqual([]);
  // The packages left to Node are production dependencies too.
  expect([...used.values()]).toEqual(expect.arrayContaining(['@electric-sql/pglite', 'pino', 'ws']));
});

it('starts with `node dist/main.js` and answers', { timeout: 120_000 }, async () => {
  const port = await sparePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await Promise.race([
    exited,
    (async () => {
      while (!output.includes('sharegraph ready')) await new Promise((r) => setTimeout(r, 50));
    })(),
  ]);
  expect(output).toContain('sharegraph ready');
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  expect((await fetch(`http://127.0.0.1:${port}/demo`)).status).toBe(200);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
