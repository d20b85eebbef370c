import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Db, DbTx } from '../db/client.ts';

/** A mail to send. Written to the outbox in the transaction of the change that sends it. */
export interface Mail {
  /** What it is (`invitation.workspace`, `invitation.list`): what the logs say of it. */
  kind: string;
  to: string;
  subject: string;
  text: string;
  /** The link it carries, if any: listed by /dev/mail in development, never logged. */
  link?: string;
}

/**
 * Queues a mail inside the caller's transaction, so the mail exists exactly when the change
 * committed (an invitation is never mailed for a rolled-back change, nor lost on a crash).
 */
export async function queueMail(tx: DbTx, mail: Mail): Promise<void> {
  await tx.mailOutbox.create({ data: mail });
}

/**
 * Delivers the outbox, as a job any number of instances run at once: through SMTP when SMTP_URL
 * is set, otherwise nowhere (the embedded default: development reads it at /dev/mail).
 */
export interface Mailer {
  /** Sends the mail that is due; call after a commit that queued some. Never throws. */
  flush(): Promise<void>;
  /** Stops looking for mail (an ongoing flush finishes). */
  close(): void;
}

export interface MailerOptions {
  db: Db;
  smtpUrl: string | undefined;
  from: string;
  log: Logger;
  /** Attempts before a mail is FAILED. */
  maxAttempts: number;
  /** Delay before the first retry; each next one doubles it (up to an hour). */
  retryBaseMs: number;
  /** How often the outbox is looked at, for mail due again or left by a stopped instance. */
  pollMs: number;
}

/** How long a claim holds: an instance that stops mid-send leaves its mail to others after it. */
const CLAIM_MS = 60_000;
/** Mails claimed at a time. */
const BATCH = 20;
const MAX_BACKOFF_MS = 3_600_000;

interface Claimed {
  id: string;
  kind: string;
  to: string;
  subject: string;
  text: string;
  attempts: number;
}

/**
 * The delay before attempt `attempts + 1`, after `attempts` failed: `base`, then doubling.
 */
export function retryDelay(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(attempts - 1, 0), MAX_BACKOFF_MS);
}

export function createMailer(options: MailerOptions): Mailer {
  const { db, log } = options;
  const transport: Transporter | null = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : null;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  /**
   * Claims due mail: rows locked by another instance's claim are skipped (SKIP LOCKED), and a
   * claimed row carries `claimedUntil`, so no two instances send the same mail.
   */
  // Prisma keeps DateTime as UTC in columns without a time zone, hence `now() AT TIME ZONE 'UTC'`.
  const claim = () =>
    db.$queryRaw<Claimed[]>`
      UPDATE "MailOutbox" SET "claimedUntil" = (now() AT TIME ZONE 'UTC') + make_interval(secs => ${CLAIM_MS / 1000})
      WHERE id IN (
        SELECT id FROM "MailOutbox"
        WHERE status = 'PENDING' AND "nextAttemptAt" <= (now() AT TIME ZONE 'UTC')
          AND ("claimedUntil" IS NULL OR "claimedUntil" < (now() AT TIME ZONE 'UTC'))
        ORDER BY "nextAttemptAt", id
        LIMIT ${BATCH}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING id, kind, "to", subject, text, attempts`;

  async function send(mail: Claimed) {
    const attempts = mail.attempts + 1;
    try {
      if (transport) {
        await transport.sendMail({ from: options.from, to: mail.to, subject: mail.subject, text: mail.text });
      }
      await db.mailOutbox.update({
        where: { id: mail.id },
        data: { status: 'SENT', sentAt: new Date(), attempts, claimedUntil: null },
      });
      log.info(
        { mailId: mail.id, kind: mail.kind, to: mail.to, attempts },
        transport ? 'mail sent' : 'mail kept in the outbox (no SMTP_URL)',
      );
    } catch (err) {
      const failed = attempts >= options.maxAttempts;
      const delayMs = retryDelay(attempts, options.retryBaseMs);
      // The SMTP server's reply may quote the message; only its code and class are kept.
      const reason = smtpReason(err);
      log.warn(
        { mailId: mail.id, kind: mail.kind, to: mail.to, attempts, reason, ...(failed ? {} : { retryInMs: delayMs }) },
        failed ? 'mail delivery failed for good' : 'mail delivery failed; will retry',
      );
      await db.mailOutbox.update({
        where: { id: mail.id },
        data: {
          attempts,
          lastError: reason,
          status: failed ? 'FAILED' : 'PENDING',
          nextAttemptAt: new Date(Date.now() + delayMs),
          claimedUntil: null,
        },
      });
      if (!failed) wakeIn(delayMs);
    }
  }

  async function drain() {
    for (;;) {
      const batch = await claim();
      for (const mail of batch) await send(mail);
      if (batch.length < BATCH) return;
    }
  }

  let wake: NodeJS.Timeout | null = null;
  let wakeAt = Number.POSITIVE_INFINITY;
  /** Flushes again in `ms` (the earliest of the retries waiting in this instance). */
  function wakeIn(ms: number) {
    if (closed || Date.now() + ms >= wakeAt) return;
    if (wake) clearTimeout(wake);
    wakeAt = Date.now() + ms;
    wake = setTimeout(() => {
      wake = null;
      wakeAt = Number.POSITIVE_INFINITY;
      void flush();
    }, ms);
    wake.unref();
  }

  function flush(): Promise<void> {
    if (closed) return Promise.resolve();
    // One drain at a time; a flush during a drain runs one more pass after it.
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await drain().catch((err) => log.error({ err: (err as Error).message }, 'outbox drain failed'));
      } while (again && !closed);
      running = null;
    })();
    return running;
  }

  const poll = setInterval(() => void flush(), options.pollMs);
  poll.unref();

  return {
    flush,
    close() {
      closed = true;
      clearInterval(poll);
      if (wake) clearTimeout(wake);
      transport?.close();
    },
  };
}

/** What the logs and the outbox keep of a failure: nodemailer's code and the SMTP status, no text. */
function smtpReason(err: unknown): string {
  const e = err as { code?: string; responseCode?: number; name?: string };
  return [e.code, e.responseCode].filter((part) => part !== undefined).join(' ') || e.name || 'Error';
}
