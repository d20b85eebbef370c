import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` forwards /graphql (HTTP and websocket) to the server, so the page and the API
// share an origin; a built page served elsewhere names its API on the sign-in form instead.
const api = process.env.SHAREGRAPH_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  plugins: [react()],
  server: { proxy: { '/graphql': { target: api, ws: true } } },
  preview: { proxy: { '/graphql': { target: api, ws: true } } },
});
