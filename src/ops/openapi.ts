import type { RouteOptions } from 'fastify';

/** Every error the API answers: `{error, rule?, problems?}` (src/ops/http.ts `sendError`). */
export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string', description: 'what went wrong, in words' },
    rule: { type: 'string', description: 'the policy rule that refused the action (409), e.g. R9' },
    problems: { type: 'array', items: { type: 'string' }, description: 'each problem of a refused input (400)' },
  },
} as const;

const described = (description: string) => ({ description, ...errorSchema });

/**
 * Adds the error answers a route of the authenticated scope can give to its OpenAPI schema, so a
 * generated client knows them: 400 bad input, 401 no or wrong token, 403 the viewer role or a
 * missing CSRF header, 404 an unknown id (routes with a path parameter), 409 refused by a rule
 * (mutating routes), 429 too many failed authentications.
 */
export function addErrorResponses(route: RouteOptions): void {
  const schema = (route.schema ??= {}) as { hide?: boolean; response?: Record<string, unknown> };
  if (schema.hide) return;
  const methods = [route.method].flat();
  const response: Record<string, unknown> = { ...schema.response };
  const add = (code: string, description: string) => {
    response[code] ??= described(description);
  };
  add('400', 'bad input: the reason, and where');
  add('401', 'no token, a wrong or revoked one, or an expired session');
  add('403', 'the token has the viewer role, or a request with the session cookie lacks its CSRF header');
  if (route.url.includes(':')) add('404', 'no such id');
  if (methods.some((method) => method !== 'GET' && method !== 'HEAD')) add('409', 'refused by a rule (`rule` names it) or by the state of the job');
  add('429', 'too many failed authentications from this address: retry after `retry-after` seconds');
  schema.response = response;
}
