import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests and for client authors: every `graphql(`...`)` in test/ and
// bench/ is checked against schema.graphql and gets its result and variable types.
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
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
