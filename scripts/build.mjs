// The build of `npm start` (scripts/start.mjs): src/main.ts compiled by esbuild into one ES
// module, run by Node itself rather than through tsx's loader hooks, under which every module
// import takes a round trip to the hooks thread (seconds of start-up here). Most dependencies are
// bundled too: Node's module loader then reads one file instead of about a thousand, which
// halves the time to load the app. The build keeps each source file's `import.meta.url`, so paths
// relative to a source file resolve as under tsx. test/scripts/start.test.ts runs the bundle.
//
// The build is never stale: next to it lies a stamp of what it was made from (this script, the
// content of every source file, the size and modification time of every installed file, and the
// modification time of every folder holding one, so that a file added beside them counts too);
// while all of it matches, the build is reused. `npm ci` builds it (the `prepare` script), so
// that not even the first start waits for esbuild.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}node_modules/.cache/sharegraph/main.mjs`;
const stampFile = `${outfile}.stamp.json`;

// Left to Node: packages that load WebAssembly or other files beside their code (PGlite,
// Prisma), start worker threads (pino), have optional native add-ons or optional peers (pg, ws,
// ioredis, rate-limiter-flexible, nodemailer), and those that must share an instance with one of
// them. A new dependency of that kind belongs here, and so does one that is large and seldom used.
const STAY_EXTERNAL = [
  '@electric-sql/pglite',
  '@prisma/*',
  'pglite-prisma-adapter',
  'pg',
  'pino',
  'ws',
  'ioredis',
  '@graphql-yoga/redis-event-target',
  'rate-limiter-flexible',
  'nodemailer',
  // Loaded only when GraphiQL is opened: 18 MB of script the server should not parse at start.
  '@graphql-yoga/render-graphiql',
  // One OpenTelemetry API for the app and the SDK, which loads only when OTEL_* asks for traces.
  '@opentelemetry/*',
];

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/**
 * What a build depends on: this script, its inputs' contents, and their folders' listings.
 * `known` holds the hashes of the contents the build itself read, so that a file saved while it
 * ran does not pass for built.
 */
async function stampOf(inputs, known = new Map()) {
  const dirs = [...new Set(inputs.map((input) => dirname(input)))].sort();
  // Installed packages change with their modification time; sources are compared by content.
  const hash = async (f) => {
    if (f.startsWith('node_modules/')) {
      const { mtimeMs, size } = await stat(`${root}${f}`);
      return `${mtimeMs}:${size}`;
    }
    return known.get(f) ?? sha256(await readFile(`${root}${f}`));
  };
  return {
    script: sha256(await readFile(fileURLToPath(import.meta.url))),
    inputs: Object.fromEntries(await Promise.all(inputs.map(async (f) => [f, await hash(f)]))),
    dirs: Object.fromEntries(await Promise.all(dirs.map(async (d) => [d, (await stat(`${root}${d}`)).mtimeMs]))),
  };
}

async function upToDate() {
  try {
    const previous = JSON.parse(await readFile(stampFile, 'utf8'));
    await stat(outfile);
    return JSON.stringify(await stampOf(Object.keys(previous.inputs))) === JSON.stringify(previous);
  } catch {
    return false;
  }
}

/**
 * Builds src/main.ts into `outfile` unless the build there is up to date; returns the path.
 */
export async function buildApp() {
  if (await upToDate()) return outfile;
  const { result, read } = await bundle(outfile, (file) => JSON.stringify(pathToFileURL(file).href));
  await writeOutput(result, stampFile, JSON.stringify(await stampOf(Object.keys(result.metafile.inputs), read)));
  return outfile;
}

/**
 * `npm run build`: src/main.ts into dist/main.js, the production start (`node dist/main.js`). It
 * is the same bundle as npm start's, except that each source file's `import.meta.url` is found
 * relative to dist/, so the checkout may move; it needs the checkout's src/ (pages), prisma/
 * (migrations) and the production dependencies (`npm ci --omit=dev` leaves them), nothing else.
 * Returns the bundle's metafile, which the build test reads.
 */
export async function buildDist() {
  const distFile = `${root}dist/main.js`;
  const { result } = await bundle(
    distFile,
    (file) => `new URL(${JSON.stringify(relative(dirname(distFile), file))}, import.meta.url).href`,
  );
  await writeOutput(result, `${root}dist/meta.json`, JSON.stringify(result.metafile));
  return result.metafile;
}

/** esbuild's bundle of src/main.ts at `file`, with `sourceUrl(path)` in place of each source's `import.meta.url`. */
async function bundle(file, sourceUrl) {
  const { build } = await import('esbuild');
  const read = new Map();
  const result = await build({
    entryPoints: [`${root}src/main.ts`],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: STAY_EXTERNAL,
    // The bundled CommonJS packages' own require() calls (of Node's built-in modules).
    banner: {
      js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);",
    },
    // Stack traces point into src/ (the sources are on disk, so the map need not carry them:
    // a smaller map is quicker for Node to read at every start).
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    absWorkingDir: root,
    logLevel: 'warning',
    plugins: [
      {
        // graphql 16 has no `exports` map, so esbuild's default for Node took its CommonJS build,
        // and every call of one of its functions in the executor went through a getter of the
        // interop wrapper (a twentieth of an executed request's CPU). Its ES module build is
        // taken instead, for deep imports too (graphql/language/parser), so that one copy of
        // graphql is bundled and its classes are the same everywhere.
        name: 'graphql-esm',
        setup(b) {
          b.onResolve({ filter: /^graphql(\/.*)?$/ }, async (args) => {
            const path = `${root}node_modules/${args.path === 'graphql' ? 'graphql/index' : args.path.replace(/\.m?js$/, '')}.mjs`;
            await stat(path);
            return { path };
          });
        },
      },
      {
        name: 'source-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, async (args) => {
            const source = await readFile(args.path, 'utf8');
            read.set(relative(root, args.path), sha256(source));
            return {
              contents: source.replaceAll('import.meta.url', sourceUrl(args.path)),
              loader: 'ts',
            };
          });
        },
      },
    ],
  });
  return { result, read };
}

/** Writes a build's files, each renamed into place whole (another start may be reading them): the map first, then the module, then `lastFile` (the stamp that vouches for both). */
async function writeOutput(result, lastFile, lastContents) {
  const main = result.outputFiles.find((f) => f.path.endsWith('.js') || f.path.endsWith('.mjs'));
  await mkdir(dirname(main.path), { recursive: true });
  const last = (file) => (file === main ? 1 : 0);
  const files = result.outputFiles.sort((a, b) => last(a) - last(b));
  for (const { path, contents } of [...files, { path: lastFile, contents: lastContents }]) {
    const scratch = `${path}.${process.pid}.tmp`;
    await writeFile(scratch, contents);
    await rename(scratch, path);
  }
}

// Run by itself (npm ci's `prepare` script), it builds ahead of the first `npm start`; a failure
// there must not fail the install: `npm start` builds again and shows the error.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--dist')) {
  await buildDist();
  process.stdout.write(
    'sharegraph: built dist/main.js (start it with: node --max-semi-space-size=32 dist/main.js, see the README)\n',
  );
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildApp().then(
    (file) => process.stdout.write(`sharegraph: npm start's build is ready (${relative(root, file)})\n`),
    (err) => process.stderr.write(`sharegraph: the build failed (npm start will retry): ${err.message}\n`),
  );
}
