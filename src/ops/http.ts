import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import { once } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest, type FastifySchemaValidationError } from 'fastify';
import { Redis } from 'ioredis';
import { InputError, NotFoundError, RefusedError } from '../errors.js';
import { createTokenCheck } from './auth.js';
import { createFailureLimiter } from './failure-limiter.js';
import type { AdminContext } from './context.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoute } from './routes/health.js';
import { registerImportRoutes } from './routes/imports.js';
import { registerInvoiceRoutes } from './routes/invoices.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerNoticeRoutes } from './routes/notices.js';
import { registerPlanRoutes } from './routes/plan.js';
import { registerQueueBoard } from './routes/queues.js';
import { registerScanRoutes } from './routes/scans.js';
import { registerSessionRoute } from './routes/session.js';
import { registerSubscriptionRoutes } from './routes/subscriptions.js';
import { registerConsoleApi } from './console-api.js';
import { addErrorResponses } from './openapi.js';
import { oneLinePattern } from './schemas.js';
import { createSessions, registerSignInRoutes } from './session.js';
import { redact } from '../redact.js';

export interface AdminServer {
  port: number;
  /** Every route served, as `METHOD /url`: tests check each against the auth rules. */
  routes: readonly string[];
  close(): Promise<void>;
}

export interface AdminServerOptions extends AdminContext {
  host: string;
  port: number;
}

/** The first schema violation, said the way the CLI says it: where, then what is wrong. */
function formatSchemaError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const error = errors[0];
  if (!error) return new Error(`${dataVar}: invalid`);
  const where = `${dataVar}${error.instancePath}`;
  const params = error.params as { additionalProperty?: string; format?: string; pattern?: string };
  if (error.keyword === 'additionalProperties') return new Error(`${where}: unknown field "${params.additionalProperty}"`);
  if (error.keyword === 'pattern' && params.pattern === oneLinePattern) return new Error(`${where}: holds a control character (one line of printable text expected)`);
  if (error.keyword === 'format' && params.format === 'date') return new Error(`${where}: not a real calendar date (expected YYYY-MM-DD)`);
  return new Error(`${where} ${error.message ?? 'is invalid'}`);
}

/** Errors as `{error, rule?, problems?}`: 400 bad input, 404 unknown id, 409 refused by a rule. */
function sendError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if ('validation' in error && error.validation) return reply.code(400).send({ error: error.message });
  if (error instanceof RefusedError) return reply.code(409).send({ error: error.message, rule: error.rule });
  if (error instanceof NotFoundError) return reply.code(404).send({ error: error.message });
  if (error instanceof InputError) return reply.code(400).send({ error: error.message, ...(error.problems.length ? { problems: error.problems } : {}) });
  const status = 'statusCode' in error && error.statusCode ? error.statusCode : 500;
  if (status < 500) return reply.code(status).send({ error: error.message });
  request.log.error({ err: error, method: request.method, url: request.url }, 'admin API request failed');
  return reply.code(status).send({ error: `internal error: ${redact(error.message)}` });
}

/**
 * The admin HTTP API and web console, on loopback unless ADMIN_HOST says otherwise. Everything
 * but `GET /healthz` and the console's static files needs a bearer token (ADMIN_TOKEN or a named
 * one); a viewer token may only read (GET), every other method needs an operator.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { host, port, ...context } = options;
  const app = Fastify({
    loggerInstance: context.log.child({ component: 'admin-api' }) as FastifyBaseLogger,
    // The console polls; per-request lines would drown the job logs. Failures and actions are logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A delivery's job id holds a Message-ID (~270 characters for the widest subscription id):
    // Fastify's default of 100 answered 414 before the route's own schema could say anything.
    routerOptions: { maxParamLength: 512 },
    // Unknown fields are refused (400), not silently dropped: a typo must not pass as a default.
    ajv: { customOptions: { removeAdditional: false } },
    schemaErrorFormatter: formatSchemaError,
  });
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push(`${method} ${route.url}`);
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'membership-lifecycle admin API', version: '1', description: 'Operators: scans, subscriptions, invoices, plan, jobs, metrics. Bearer token: ADMIN_TOKEN or a named token (`lifecycle tokens create`); a viewer token reads (GET), an operator token also acts.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));
  registerHealthRoute(app, context);
  registerConsoleRoutes(app);
  await app.register(cookie);
  const sessions = createSessions({ store: context.store, adminToken: context.config.adminToken });
  // A connection of its own whose commands fail at once while Redis is away (the check then lets
  // authentication go on unlimited) instead of holding the request until Redis is back, as the
  // workers' connections wait for it. Its first connection is awaited (briefly), so the first
  // failures after a start are counted.
  const limiterRedis = new Redis({ ...context.connection, maxRetriesPerRequest: 0, connectTimeout: 1_000, enableOfflineQueue: false });
  limiterRedis.on('error', () => {});
  await Promise.race([once(limiterRedis, 'ready').catch(() => {}), setTimeout(2_000, undefined, { ref: false })]);
  app.addHook('onClose', async () => {
    limiterRedis.disconnect();
  });
  const limiter = createFailureLimiter(limiterRedis, context.config.queuePrefix);
  const tokenCheck = createTokenCheck({ adminToken: context.config.adminToken, store: context.store, log: context.log.child({ component: 'admin-api' }), sessions, limiter });
  await registerQueueBoard(app, context, tokenCheck);
  await app.register(async (api) => {
    api.addHook('onRequest', tokenCheck);
    api.addHook('onRoute', addErrorResponses);
    // A POST without a body is an empty one: `curl -X POST …/renew` means "with the defaults".
    api.addHook('preValidation', async (request) => {
      if (request.method === 'POST' && request.body === undefined) request.body = {};
    });
    api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    registerSessionRoute(api);
    registerSignInRoutes(api, sessions);
    registerConsoleApi(api, context);
    registerMetricsRoute(api, context);
    registerScanRoutes(api, context);
    registerSubscriptionRoutes(api, context);
    registerInvoiceRoutes(api, context);
    registerPlanRoutes(api, context);
    registerJobRoutes(api, context);
    registerNoticeRoutes(api, context);
    registerEventRoutes(api, context);
    registerImportRoutes(api, context);
  });
  await app.listen({ host, port });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    routes,
    close: () => app.close(),
  };
}
