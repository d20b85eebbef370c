import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/**
 * Preloaded into a bench server child (`--expose-gc --import <this file>`), never
 * into production: on SIGUSR2 it collects garbage and writes `process.memoryUsage()` (RSS included) to
 * `$BENCH_PROBE_DIR/<pid>.json`, so a bench reads the server's heap without any HTTP route.
 */
const dir = process.env.BENCH_PROBE_DIR;
const gc = globalThis.gc;
if (dir && gc) {
  process.on('SIGUSR2', () => {
    // Twice: the first pass may only queue finalizers whose objects the second one frees. Then
    // the collection V8 runs when memory runs short, which also gives back the pages it keeps
    // free for later: without it the RSS read depends on how many freed pages V8 still pools.
    gc();
    gc();
    const rssPooled = process.memoryUsage.rss();
    gc({ type: 'major', flavor: 'last-resort' });
    // V8 unmaps the pages it gave back on a background thread: let it finish before reading RSS.
    setTimeout(() => report(rssPooled), 2_000);
  });
  const report = (rssPooled) => {
    const file = join(dir, `${process.pid}.json`);
    writeFileSync(
      `${file}.tmp`,
      JSON.stringify({
        at: Date.now(),
        ...process.memoryUsage(),
        // RSS before V8 gave its free pages back.
        rssPooled,
        // Per V8 space: [reserved, used, resident] bytes (printed with BENCH_DEBUG).
        spaces: Object.fromEntries(
          getHeapSpaceStatistics().map((s) => [s.space_name, [s.space_size, s.space_used_size, s.physical_space_size]]),
        ),
      }),
    );
    // With BENCH_HEAP_SNAPSHOT set, a heap snapshot beside it, to see what a connection holds.
    if (process.env.BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(join(dir, `${process.pid}-${Date.now()}.heapsnapshot`));
    renameSync(`${file}.tmp`, file);
  };
}
