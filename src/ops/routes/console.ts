import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** `src/ops/routes` and `dist/ops/routes` are both three levels below the package root. */
const consoleDir = new URL('../../../public/console/', import.meta.url);

const files: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

// The page holds no data (everything comes from the API with the token), so it is served
// without one; the policy keeps a pasted token away from any script but ours.
const securityHeaders = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The web console: static HTML and vanilla JS, no build step. */
export function registerConsoleRoutes(app: FastifyInstance): void {
  const contents = new Map(Object.keys(files).map((name) => [name, readFileSync(new URL(name, consoleDir))]));
  const send = (name: string) => async (_request: unknown, reply: FastifyReply) =>
    reply.headers(securityHeaders).type(files[name]!).send(contents.get(name));
  app.get('/', { schema: { hide: true } }, send('index.html'));
  for (const name of ['console.js', 'console.css']) app.get(`/console/${name}`, { schema: { hide: true } }, send(name));
}
