import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests and for client authors: every `graphql(`...`)` in test/ and
// bench/ is checked against schema.graphql and gets its result and variable types. The preset
// also writes persisted-documents.json, a trusted-documents manifest (sha256 → document) that the
// server serves with TRUSTED_DOCUMENTS and enforces with TRUSTED_DOCUMENTS_ONLY.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', 'bench/**/*.ts', '!test/generated/**'],
  ignoreNoDocuments: true,
  generates: {
    'test/generated/': {
      preset: 'client',
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
        documentMode: 'string',
        importExtension: '.ts',
      },
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
    },
  },
};

export default config;
