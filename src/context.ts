import type { Logger } from 'pino';
import { Access } from './access/load.ts';
import type { TokenClaims } from './auth/jwt.ts';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import type { Mailer } from './mail/mailer.ts';
import type { Realtime } from './realtime/pubsub.ts';

/** The signed-in user a request or socket acts as. */
export interface Viewer {
  id: string;
  email: string;
  name: string | null;
  /** When the token expires, in seconds since the epoch (WS connections close then with 4401). */
  tokenExpiresAt: number | undefined;
}

/** What every resolver and service may use; built once per request or per WS operation. */
export interface Context {
  viewer: Viewer | null;
  db: Db;
  /** Request-scoped access facts and decisions (src/access). */
  access: Access;
  realtime: Realtime;
  /** Sends what a committed change queued with `queueMail`. */
  mail: Mailer;
  config: Config;
  log: Logger;
}

/** The long-lived parts a server hands to every context. */
export interface Services {
  db: Db;
  realtime: Realtime;
  mail: Mailer;
  config: Config;
  log: Logger;
  /** Verifies a bearer token and returns the user it names, provisioning them if new. */
  authenticate(token: string): Promise<Viewer>;
}

/** Builds a context for one request (or one WS operation) from an already-authenticated viewer. */
export function makeContext(services: Services, viewer: Viewer | null): Context {
  return {
    viewer,
    db: services.db,
    access: new Access(services.db, viewer),
    realtime: services.realtime,
    mail: services.mail,
    config: services.config,
    log: viewer ? services.log.child({ viewerId: viewer.id }) : services.log,
  };
}

export type { TokenClaims };
