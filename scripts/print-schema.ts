import { readFileSync, writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { schema } from '../src/schema.ts';

// `npm run schema:print` writes schema.graphql from the code; `-- --check` fails when it drifted.
const file = new URL('../schema.graphql', import.meta.url);
const printed = `${printSchema(schema)}\n`;
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {}
  if (committed !== printed) {
    process.stderr.write('schema.graphql is out of date: run `npm run schema:print` and commit it\n');
    process.exit(1);
  }
} else {
  writeFileSync(file, printed);
}
