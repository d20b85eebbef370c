// `npm start`: runs src/main.ts as built by scripts/build.mjs (once, then again only when its
// sources change). `npm run dev` uses tsx instead (watch mode).
import { pathToFileURL } from 'node:url';
import { buildApp } from './build.mjs';

const main = await buildApp();
process.setSourceMapsEnabled(true);
await import(pathToFileURL(main).href);
