import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError } from '../../errors.js';
import { importFile, type ImportSummary } from '../../import/import-file.js';
import { flushWrittenEvents } from '../../jobs/queues.js';
import type { AdminContext } from '../context.js';

/** The largest document `POST /api/imports` accepts (413 beyond): 64 MiB, about 200,000 subscriptions. */
export const maxImportBytes = 64 * 2 ** 20;
/** What problems and messages call the document instead of the private temp file it was written to. */
const bodyLabel = 'request body';

class TooLargeError extends Error {
  readonly statusCode = 413;
  constructor() {
    super(`the document is over ${maxImportBytes / 2 ** 20} MiB; split it into several imports`);
  }
}

/** The temp path replaced by a label a client understands, in the message and every problem. */
function relabel(error: unknown, file: string): unknown {
  if (!(error instanceof InputError)) return error;
  const fix = (text: string) => text.split(file).join(bodyLabel);
  return new InputError(fix(error.message), error.problems.map(fix));
}

/**
 * Writes the document to a private temp file and imports it exactly as `lifecycle import` would:
 * same parser, validation, problem wording, all or nothing, idempotent. The document is validated
 * before the import takes the daemon's store: its transaction (an in-process lock on SQLite, a
 * pooled connection on PostgreSQL) is held only while the records are written, and the daemon's
 * other jobs wait for its commit instead of polling a busy database.
 */
async function importDocument(context: AdminContext, request: FastifyRequest, format: 'json' | 'csv', write: (file: string) => Promise<void>): Promise<ImportSummary> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lifecycle-import-'));
  const file = path.join(dir, `body.${format}`);
  try {
    await write(file);
    let summary: ImportSummary;
    try {
      summary = await importFile(context.store, file, context.deps.now(), { source: `api:${request.actor?.ref ?? 'admin-api'}`, validateFirst: true });
      // Events the import wrote (e.g. a reactivation) go out now; should Redis fail, the next scan queues them.
      await flushWrittenEvents(context.queues.actions, context.config, context.store).catch(() => undefined);
    } catch (error) {
      throw relabel(error, file);
    }
    request.log.info({ actor: request.actor?.ref, partners: summary.partners, subscriptions: summary.subscriptions }, 'import through the admin API');
    return summary;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Copies the request body to `file` (owner-only), refusing it with 413 past the limit. */
async function saveBody(payload: Readable, file: string): Promise<void> {
  let size = 0;
  await pipeline(
    payload,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > maxImportBytes) throw new TooLargeError();
        yield chunk;
      }
    },
    createWriteStream(file, { mode: 0o600, flags: 'wx' }),
  );
}

type RecordKind = 'partners' | 'subscriptions';

/** One record as a one-record document; the path id fills in a missing `id` and must match a present one. */
function buildRecordDocument(kind: RecordKind, id: string, body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError(`${bodyLabel}: expected one ${kind === 'partners' ? 'partner' : 'subscription'} record as a JSON object`);
  const record = body as Record<string, unknown>;
  if (record.id === undefined) record.id = id;
  else if (record.id !== id) throw new InputError(`${bodyLabel}: id ${JSON.stringify(record.id)} is not the id in the path ("${id}")`);
  return JSON.stringify({ [kind]: [record] });
}

function outcomeOf(summary: ImportSummary, kind: RecordKind): string {
  const counts = summary[kind];
  return counts.created ? 'created' : counts.updated ? 'updated' : 'unchanged';
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;

export function registerImportRoutes(app: FastifyInstance, context: AdminContext): void {
  for (const kind of ['partners', 'subscriptions'] as const) {
    app.put<{ Params: { id: string }; Body: unknown }>(
      `/api/${kind}/:id`,
      {
        schema: {
          summary: `Create or update one ${kind === 'partners' ? 'partner' : 'subscription'} (a record of the import format; validated like \`lifecycle import\`). The same body twice changes nothing: \`unchanged\``,
          tags: ['data in'],
          params: idParams,
        },
      },
      async (request) => {
        const document = buildRecordDocument(kind, request.params.id, request.body);
        const summary = await importDocument(context, request, 'json', (file) => writeFile(file, document, { mode: 0o600, flag: 'wx' }));
        return { id: request.params.id, outcome: outcomeOf(summary, kind) };
      },
    );
  }

  // Its own scope: the body is streamed to disk raw, not parsed, and may be far above the API's 64 KiB.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json', 'text/csv'], (_request, payload, done) => done(null, payload));
    scope.post<{ Body: Readable }>(
      '/api/imports',
      {
        bodyLimit: maxImportBytes,
        schema: {
          summary: 'Import a whole document (Content-Type application/json or text/csv, at most 64 MiB), all or nothing, like `lifecycle import`',
          tags: ['data in'],
        },
      },
      async (request, reply) => {
        // No body at all reaches here as {} (see http.ts): an empty document.
        if (typeof (request.body as Partial<Readable>)?.pipe !== 'function') throw new InputError(`${bodyLabel}: empty; send a JSON or CSV import document`);
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > maxImportBytes) throw new TooLargeError();
        const format = /^text\/csv\b/i.test(request.headers['content-type'] ?? '') ? 'csv' : 'json';
        const summary = await importDocument(context, request, format, (file) => saveBody(request.body, file));
        return reply.send({ format: summary.format, partners: summary.partners, subscriptions: summary.subscriptions });
      },
    );
  });
}
