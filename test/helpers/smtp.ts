import { SMTPServer } from 'smtp-server';

/** A real SMTP server on a free port; `fail(n)` makes the next n deliveries fail with 451. */
export async function smtpServer() {
  const received: { at: number; data: string }[] = [];
  const refused: number[] = [];
  let failures = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      let data = '';
      stream.on('data', (chunk: Buffer) => {
        data += chunk.toString();
      });
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          refused.push(Date.now());
          return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
        }
        received.push({ at: Date.now(), data: data.replace(/=\r?\n/g, '') });
        // A little slow, as a real server is: two instances' drains overlap.
        setTimeout(callback, 5);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refused,
    fail(n: number) {
      failures = n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type Smtp = Awaited<ReturnType<typeof smtpServer>>;
