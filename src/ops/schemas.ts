import { addDays, daysBetween } from '../policy/dates.js';
import { InputError } from '../errors.js';
import { idCharacters, idMaxLength, idPattern, textLimits } from '../policy/limits.js';

// JSON schemas of request bodies and queries: Fastify validates them (400 with the reason) and
// @fastify/swagger publishes them in /openapi.json.

export const daySchema = { type: 'string', format: 'date', description: 'a calendar date, YYYY-MM-DD' } as const;

export const asOfBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { asOf: { ...daySchema, description: 'the day the action takes effect; today in LIFECYCLE_TZ by default' } },
} as const;

/** A job id: an action's (`{action}.{subscription}.{A}`) or a delivery's (`deliver.{Message-ID}`). */
export const idParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 512 } },
} as const;

/** A subscription id in a route: the import's id rule (README "Input limits"), so every imported id is reachable. */
export const subscriptionParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: idMaxLength, pattern: idPattern, description: `1-${idMaxLength} characters of ${idCharacters}, the first a letter or a digit` },
  },
} as const;

/** No control character (a NUL ends PostgreSQL's text): one line of printable text. */
export const oneLinePattern = '^[^\\u0000-\\u001f\\u007f-\\u009f]+$';

/** A free-text query or path value: what the store may be asked about, so no control character. */
export function buildOneLineSchema(maxLength: number, description?: string) {
  return { type: 'string', minLength: 1, maxLength, pattern: oneLinePattern, ...(description ? { description } : {}) } as const;
}

/** A support ticket id (R11): one line, at most `textLimits.ticket` characters. */
export const ticketSchema = {
  type: 'string',
  minLength: 1,
  maxLength: textLimits.ticket,
  pattern: oneLinePattern,
  description: `the support request id, one line of at most ${textLimits.ticket} characters`,
} as const;

export function buildLimitSchema(max: number, fallback: number) {
  return { type: 'integer', minimum: 1, maximum: max, default: fallback, description: `at most ${max}` } as const;
}

export interface AsOfBody {
  asOf?: string;
}

/** `from … to` inclusive, at most `maxDays` days, `to` not before `from`. */
export function checkRange(from: string, to: string, maxDays: number): void {
  if (to < from) throw new InputError(`querystring/to ${to} is before from ${from}`);
  const days = daysBetween(from, to) + 1;
  if (days > maxDays) throw new InputError(`querystring: ${from} … ${to} is ${days} days; at most ${maxDays} (e.g. to=${addDays(from, maxDays - 1)})`);
}
