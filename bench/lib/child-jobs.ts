import { type ChildProcess, fork } from 'node:child_process';

type Reply<R> = { ok: true; result: R } | { ok: false; error: string };

/**
 * A load generator in a child process of its own, one job at a time: the bench process carries
 * autocannon's garbage, the fixtures' Prisma clients and every figure so far, and its collector's
 * pauses would count as the server's latency; the child holds nothing but the run under way, and
 * its CPU is its own. `file` is the module that calls `serveJobs(flag, …)`.
 */
export class ChildJobs<Job, Result> {
  private constructor(private readonly child: ChildProcess) {}

  static start<Job, Result>(file: string, flag: string): ChildJobs<Job, Result> {
    const child = fork(file, [], {
      // The loader hooks this process runs under (tsx), so the child can load the file.
      execArgv: process.execArgv,
      env: { ...process.env, [flag]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new ChildJobs<Job, Result>(child);
  }

  run(job: Job): Promise<Result> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the load generator exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (reply: Reply<Result>) => {
        this.child.off('exit', onExit);
        if (reply.ok) resolve(reply.result);
        else reject(new Error(reply.error));
      });
      this.child.send(job as object);
    });
  }

  close(): void {
    this.child.kill();
  }
}

/** In the child started with `flag` set: runs each job it is sent with `work` and replies. */
export function serveJobs<Job, Result>(flag: string, work: (job: Job) => Promise<Result>): void {
  if (!process.env[flag] || !process.send) return;
  process.on('message', (job: Job) => {
    work(job).then(
      (result) => process.send?.({ ok: true, result } satisfies Reply<Result>),
      (err: unknown) =>
        process.send?.({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply<Result>),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
