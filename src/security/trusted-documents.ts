import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.ts';

/**
 * A trusted-documents manifest, as codegen.ts writes it (`{ "sha256:<hex>": "<document>" }`).
 * Clients send a document's id instead of its text: `documentId` (GraphQL over HTTP) or Apollo's
 * `extensions.persistedQuery.sha256Hash`.
 */
export interface TrustedDocuments {
  /** The document a request names by id, or `null` when it names none or an unknown one. */
  byId(id: string): string | null;
  /** Whether this exact document text is in the manifest (for clients that send the text). */
  has(document: string): boolean;
}

/** Reads the manifest at `path`; a missing or malformed file stops the start with one line. */
export function loadTrustedDocuments(path: string): TrustedDocuments {
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Invalid TRUSTED_DOCUMENTS=${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(manifest)) {
    if (typeof document !== 'string') {
      throw new ConfigError(`Invalid TRUSTED_DOCUMENTS=${JSON.stringify(path)}: ${id} is not a document`);
    }
    documents.set(id.startsWith('sha256:') ? id : `sha256:${id}`, document);
  }
  return {
    byId: (id) => documents.get(id.startsWith('sha256:') ? id : `sha256:${id}`) ?? null,
    has: (document) => documents.has(`sha256:${createHash('sha256').update(document).digest('hex')}`),
  };
}

/** The document id a request carries, in either convention, or `null`. */
export function documentIdOf(params: { documentId?: unknown; extensions?: unknown }): string | null {
  if (typeof params.documentId === 'string') return params.documentId;
  const persisted = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)
    ?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : null;
}
