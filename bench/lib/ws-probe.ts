import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

/**
 * Preloaded into a bench server child (`--expose-gc --import tsx --import <this file>`), never
 * into production: on SIGUSR2 it collects garbage and writes `process.memoryUsage()` to
 * `$BENCH_PROBE_DIR/<pid>.json`, so a bench reads the server's heap without any HTTP route.
 */
const dir = process.env.BENCH_PROBE_DIR;
const gc = (globalThis as { gc?: () => void }).gc;
if (dir && gc) {
  process.on('SIGUSR2', () => {
    // Twice: the first pass may only queue finalizers whose objects the second one frees.
    gc();
    gc();
    const file = join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
    // With BENCH_HEAP_SNAPSHOT set, a heap snapshot beside it, to see what a connection holds.
    if (process.env.BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(join(dir, `${process.pid}-${Date.now()}.heapsnapshot`));
    renameSync(`${file}.tmp`, file);
  });
}
