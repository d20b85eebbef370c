import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { Access } from '../../access/load.ts';
import { AuthError } from '../../auth/jwt.ts';
import { signIn } from '../../auth/viewer.ts';
import type { Services } from '../../context.ts';
import { RateLimitedError } from '../../errors.ts';
import { clientIp } from '../../yoga.ts';
import { type AccessReportRow, accessReportRows } from './service.ts';

/** The path of an account's CSV report, with its global id: `/accounts/<id>/access-report.csv`. */
export const CSV_PATH = /^\/accounts\/([^/]+)\/access-report\.csv$/;

const HEADER = [
  'resource_type',
  'resource_id',
  'resource_name',
  'user_id',
  'user_email',
  'user_name',
  'role',
  'source',
  'via_id',
  'via_name',
  'granted_by_id',
  'granted_by_email',
  'granted_at',
  'expires_at',
];

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvLine(fields: (string | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

function rowLine(r: AccessReportRow): string {
  return csvLine([
    r.resourceType,
    encodeGlobalID(r.resourceType, r.resourceId),
    r.resourceName,
    r.userId && encodeGlobalID('User', r.userId),
    r.userEmail,
    r.userName,
    r.role,
    r.source,
    r.viaType && r.viaId && encodeGlobalID(r.viaType, r.viaId),
    r.viaName,
    r.grantedById && encodeGlobalID('User', r.grantedById),
    r.grantedByEmail,
    r.grantedAt?.toISOString() ?? null,
    r.expiresAt?.toISOString() ?? null,
  ]);
}

function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${message}\n`);
}

/** Resolves once the socket took what was written, or the client went away. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function accountIdOf(globalId: string): string | null {
  try {
    const decoded = decodeGlobalID(decodeURIComponent(globalId));
    return decoded.typename === 'Account' && decoded.id ? decoded.id : null;
  } catch {
    return null;
  }
}

/**
 * `GET /accounts/<id>/access-report.csv`: the account's access report as CSV for its admins
 * (bearer token, signed in as GraphQL requests are). 401 without a valid token; 404 for a missing
 * account and for anyone but its admins alike (no existence leak). Streamed: rows are written as
 * each page of the keyset cursor is read, and the next page is read only once the socket has
 * taken the last (backpressure), so one page at most is in memory.
 */
export async function serveAccessReportCsv(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
  globalId: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method not allowed', { allow: 'GET' });
  let viewer: Awaited<ReturnType<typeof signIn>>;
  try {
    viewer = await signIn(
      services.limits,
      services.authenticate,
      req.headers.authorization,
      clientIp(req, services.config),
    );
  } catch (err) {
    if (err instanceof RateLimitedError)
      return plain(res, 429, err.message, { 'retry-after': String(err.retryAfterSeconds) });
    if (err instanceof AuthError) return plain(res, 401, err.message, { 'www-authenticate': 'Bearer' });
    throw err;
  }
  if (!viewer) return plain(res, 401, 'Sign in with a bearer token', { 'www-authenticate': 'Bearer' });
  const accountId = accountIdOf(globalId);
  const access = new Access(services.db, viewer);
  if (!accountId || !(await access.decideAccount(accountId, 'account:manage'))?.allowed)
    return plain(res, 404, 'Not found');
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': 'attachment; filename="access-report.csv"',
    'cache-control': 'no-store',
  });
  if (req.method === 'HEAD') return void res.end();
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  res.write(csvLine(HEADER));
  try {
    let chunk = '';
    for await (const row of accessReportRows(services.db, accountId, 5000)) {
      chunk += rowLine(row);
      if (chunk.length < 64 * 1024) continue;
      if (closed) return;
      if (!res.write(chunk)) await drained(res);
      chunk = '';
    }
    if (!closed) res.end(chunk);
  } catch (err) {
    services.log.error({ err }, 'access report failed');
    // The status is sent: cut the response short, so that the client sees an incomplete body.
    res.destroy();
  }
}
