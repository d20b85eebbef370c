// `npm ci` runs this (the `prepare` script): it makes the prepared PGlite database that a first
// `npm start` copies instead of running initdb, the migrations and the demo seed (issue 8). A
// failure must not fail the install: `npm start` makes the template itself when it finds none.
import { ensureTemplate } from '../src/db/pglite-template.ts';

const started = performance.now();
try {
  const dir = await ensureTemplate({ demo: true });
  process.stdout.write(`sharegraph: PGlite template ready in ${dir} (${Math.round(performance.now() - started)} ms)\n`);
} catch (err) {
  process.stderr.write(
    `sharegraph: could not prepare the PGlite template (a first npm start will): ${err instanceof Error ? err.message : String(err)}\n`,
  );
}
