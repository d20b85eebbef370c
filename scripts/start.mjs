// `npm start`: runs src/main.ts compiled by esbuild into one ES module (dependencies stay in
// node_modules, loaded by Node itself) instead of through tsx's loader hooks. Under tsx every
// module import takes a round trip to the hooks thread, which cost seconds of start-up here;
// the build takes a fraction of a second, runs on every start (never stale), and keeps each
// source file's `import.meta.url`, so paths relative to a source file resolve as under tsx.
// `npm run dev` still uses tsx (watch mode).
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}node_modules/.cache/sharegraph/main.mjs`;

await build({
  entryPoints: [`${root}src/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [
    {
      name: 'source-import-meta-url',
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, async (args) => ({
          contents: (await readFile(args.path, 'utf8')).replaceAll(
            'import.meta.url',
            JSON.stringify(pathToFileURL(args.path).href),
          ),
          loader: 'ts',
        }));
      },
    },
  ],
});
process.setSourceMapsEnabled(true);
await import(pathToFileURL(outfile).href);
