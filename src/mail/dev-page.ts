import type { Db } from '../db/client.ts';

const html = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * /dev/mail (development only): the newest mails of the outbox with their links, so that nobody
 * greps logs for an invitation link, and no log has to carry one.
 */
export async function devMailPage(db: Db): Promise<string> {
  const mails = await db.mailOutbox.findMany({ orderBy: { createdAt: 'desc' }, take: 100 });
  const rows = mails.map(
    (m) => `<tr>
  <td>${html(m.createdAt.toISOString())}</td><td>${html(m.kind)}</td><td>${html(m.to)}</td>
  <td>${html(m.subject)}</td><td>${m.link ? `<a href="${html(m.link)}">${html(m.link)}</a>` : ''}</td>
  <td>${html(m.status)}${m.attempts > 1 ? ` (${m.attempts} attempts)` : ''}</td>
</tr>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outbox · sharegraph (development)</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2rem}td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #ddd}</style>
</head><body>
<h1>Outbox</h1>
<p>The mails the server sent or would send (development only; the newest 100).</p>
<table><thead><tr><th>Queued</th><th>Kind</th><th>To</th><th>Subject</th><th>Link</th><th>Status</th></tr></thead>
<tbody>
${rows.join('\n') || '<tr><td colspan="6">No mail yet.</td></tr>'}
</tbody></table>
</body></html>
`;
}
