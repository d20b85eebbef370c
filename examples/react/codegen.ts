import type { CodegenConfig } from '@graphql-codegen/cli';

// Every `graphql(`...`)` in src/ is checked against the server's committed schema and gets its
// result and variable types in src/gql/ (git-ignored, written before `dev` and `build`).
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  generates: {
    'src/gql/': {
      preset: 'client',
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'Record<string, unknown>', ID: 'string' },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
