import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** `src/ops/routes` and `dist/ops/routes` are both three levels below the package root. */
const consoleDir = new URL('../../../public/console/', import.meta.url);

const files: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** uPlot, the charts' library, served from the installed package: no CDN. */
const vendorFiles: Record<string, { module: string; type: string }> = {
  'uPlot.iife.min.js': { module: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { module: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

// The page holds no data (everything comes from the API, with the session cookie), so it is
// served without authentication; the policy keeps any script but ours away from the page, and
// lets it frame only our own sandboxed notice previews.
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The web console: static HTML, vanilla JS and uPlot, no build step. */
export function registerConsoleRoutes(app: FastifyInstance): void {
  const require = createRequire(import.meta.url);
  const contents = new Map(Object.keys(files).map((name) => [name, readFileSync(new URL(name, consoleDir))]));
  const vendor = new Map(Object.entries(vendorFiles).map(([name, file]) => [name, readFileSync(require.resolve(file.module))]));
  const send = (name: string) => async (_request: unknown, reply: FastifyReply) =>
    reply.headers(securityHeaders).type(files[name]!).send(contents.get(name));
  app.get('/', { schema: { hide: true } }, send('index.html'));
  app.get('/favicon.ico', { schema: { hide: true } }, send('favicon.svg'));
  for (const name of ['console.js', 'console.css', 'favicon.svg']) app.get(`/console/${name}`, { schema: { hide: true } }, send(name));
  for (const [name, file] of Object.entries(vendorFiles)) {
    app.get(`/console/vendor/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      reply.headers({ ...securityHeaders, 'cache-control': 'public, max-age=86400' }).type(file.type).send(vendor.get(name)),
    );
  }
}
