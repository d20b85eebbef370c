import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Db, DbTx } from '../db/client.ts';

/** A mail to send. Written to the outbox in the transaction of the change that sends it. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * Queues a mail inside the caller's transaction, so the mail exists exactly when the change
 * committed (an invitation is never mailed for a rolled-back change, nor lost on a crash).
 */
export async function queueMail(tx: DbTx, mail: Mail): Promise<void> {
  await tx.mailOutbox.create({ data: mail });
}

/** Delivers the outbox: through SMTP when SMTP_URL is set, otherwise to the log (embedded default). */
export interface Mailer {
  /** Sends pending mail; call after a commit that queued some. Never throws. */
  flush(): Promise<void>;
  close(): void;
}

export function createMailer(options: { db: Db; smtpUrl: string | undefined; from: string; log: Logger }): Mailer {
  const transport: Transporter | null = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : null;
  let running: Promise<void> | null = null;
  let again = false;

  async function drain() {
    const pending = await options.db.mailOutbox.findMany({
      where: { status: 'PENDING', attempts: { lt: 5 } },
      orderBy: { createdAt: 'asc' },
      take: 50,
    });
    for (const mail of pending) {
      try {
        if (transport) {
          await transport.sendMail({ from: options.from, to: mail.to, subject: mail.subject, text: mail.text });
        } else {
          options.log.info({ mailId: mail.id, to: mail.to, subject: mail.subject, text: mail.text }, 'mail (outbox)');
        }
        await options.db.mailOutbox.update({
          where: { id: mail.id },
          data: { status: 'SENT', sentAt: new Date(), attempts: { increment: 1 } },
        });
      } catch (err) {
        const attempts = mail.attempts + 1;
        options.log.warn({ mailId: mail.id, err: (err as Error).message }, 'mail delivery failed');
        await options.db.mailOutbox.update({
          where: { id: mail.id },
          data: { attempts, lastError: (err as Error).message, status: attempts >= 5 ? 'FAILED' : 'PENDING' },
        });
      }
    }
  }

  return {
    flush() {
      // One drain at a time; a flush during a drain runs one more pass after it.
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        do {
          again = false;
          await drain().catch((err) => options.log.error({ err }, 'outbox drain failed'));
        } while (again);
        running = null;
      })();
      return running;
    },
    close() {
      transport?.close();
    },
  };
}
