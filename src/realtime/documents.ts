import { type DocumentNode, GraphQLError, type GraphQLSchema } from 'graphql';

/** A document as checked once: parsed and validated (with every rule of the server's plugins). */
export interface CheckedDocument {
  document: DocumentNode;
  /** Parse or validation errors; empty when it may run. */
  errors: readonly GraphQLError[];
  schema: GraphQLSchema;
}

/** What checks a document: the `parse`, `validate` and `schema` of `yoga.getEnveloped(…)`. */
export interface Checker {
  parse(query: string): DocumentNode;
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
  schema: GraphQLSchema;
}

/**
 * Parse and validation results by query text, for operations over WS. Validation depends only on
 * the schema and the document (the limits are fixed at start), so a client that subscribes and
 * completes the same operation again and again pays for it once; the checker (a fresh envelop
 * per operation) is only made on a miss. The oldest entry goes when `limit` is reached.
 */
export function documentCache(limit = 1_000) {
  const byQuery = new Map<string, CheckedDocument>();
  const ids = new WeakMap<DocumentNode, number>();
  let lastId = 0;
  return {
    check(query: string, checker: () => Checker): CheckedDocument {
      const known = byQuery.get(query);
      if (known) return known;
      const { parse, validate, schema } = checker();
      let checked: CheckedDocument;
      try {
        const document = parse(query);
        checked = { document, errors: validate(schema, document), schema };
      } catch (err) {
        const error = err instanceof GraphQLError ? err : new GraphQLError(String(err));
        checked = {
          document: { kind: 'Document', definitions: [] } as unknown as DocumentNode,
          errors: [error],
          schema,
        };
      }
      if (byQuery.size >= limit) byQuery.delete(byQuery.keys().next().value as string);
      byQuery.set(query, checked);
      return checked;
    },
    /** Equal for operations that are the same document, operation and variables. */
    key(document: DocumentNode, operationName: string | null | undefined, variables: unknown): string {
      let id = ids.get(document);
      if (id === undefined) {
        id = ++lastId;
        ids.set(document, id);
      }
      return `${id}\u0000${operationName ?? ''}\u0000${JSON.stringify(variables ?? {})}`;
    },
  };
}
