/**
 * Whether an error means PostgreSQL could not be reached or dropped the connection (a restart, a
 * failover, `pg_terminate_backend`, a database closed to connections), as opposed to a bug or a
 * refused statement. Such a request is worth retrying in a moment; the transaction it ran in, if
 * any, was rolled back by the server.
 *
 * It looks through what pg, @prisma/adapter-pg and the Prisma client make of these failures: pg's
 * errors with a SQLSTATE, the adapter's mapped `kind`, Prisma's connection error codes, and pg's
 * messages for a client whose socket is gone.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { code, kind, message, cause, meta, originalError } = e as Record<string, unknown>;
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || PRISMA_CONNECTION_CODES.has(code))) {
      // 55000 is also "object not in prerequisite state"; only the closed-database case is an outage.
      if (code !== '55000' || (typeof message === 'string' && message.includes('accepting connections'))) return true;
    }
    if (typeof kind === 'string' && ADAPTER_CONNECTION_KINDS.has(kind)) return true;
    if (typeof message === 'string' && CONNECTION_LOST.test(message)) return true;
    queue.push(cause, originalError, (meta as Record<string, unknown> | undefined)?.driverAdapterError);
  }
  return false;
}

// Class 08 (connection exception), 57P01-57P03 (admin or crash shutdown, cannot connect now),
// 53300 (too many connections), 55000 (database not accepting connections: see above).
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300|55000)$/;
// P1001 can't reach, P1002 timed out, P1017 server closed the connection, P2024 pool timeout.
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
const ADAPTER_CONNECTION_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
const CONNECTION_LOST =
  /Connection terminated|not queryable|ECONNREFUSED|ECONNRESET|EPIPE|timeout exceeded when trying to connect/;
