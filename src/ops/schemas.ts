import { addDays, daysBetween } from '../policy/dates.js';
import { InputError } from '../errors.js';

// JSON schemas of request bodies and queries: Fastify validates them (400 with the reason) and
// @fastify/swagger publishes them in /openapi.json.

export const daySchema = { type: 'string', format: 'date', description: 'a calendar date, YYYY-MM-DD' } as const;

export const asOfBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { asOf: { ...daySchema, description: 'the day the action takes effect; today in LIFECYCLE_TZ by default' } },
} as const;

export const idParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
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
