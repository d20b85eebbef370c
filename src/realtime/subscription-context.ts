import { type Client, type Context, makeContext, type Services, type Viewer } from '../context.ts';

/**
 * The context of one subscription over WS: `makeContext`'s, except that its request-scoped parts
 * (the access loaders and the child logger) are made the first time something uses them. A
 * subscription keeps its context as long as it is open, and most streams never use either: they
 * decide access with fresh facts and log nothing, so an idle subscriber holds neither.
 */
export function subscriptionContext(services: Services, viewer: Viewer | null, client: Client): Context {
  let full: Context | undefined;
  const made = () => {
    full ??= makeContext(services, viewer, client);
    return full;
  };
  return {
    viewer,
    db: services.db,
    realtime: services.realtime,
    mail: services.mail,
    config: services.config,
    limits: services.limits,
    client,
    revisions: services.revisions,
    minRevision: null,
    get access() {
      return made().access;
    },
    get log() {
      return made().log;
    },
  };
}
