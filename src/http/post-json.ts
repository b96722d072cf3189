import http from 'node:http';
import https from 'node:https';
import { describeEndpoint } from '../redact.js';

/**
 * One POST of a JSON body to a webhook (payments now, events later), hardened (SPEC §9):
 * - no redirect is followed: a 3xx is an error naming the status, the body is sent once, to the
 *   configured host only (node:http never follows one);
 * - the connection must be up within `connectTimeoutMs`, the whole exchange end within `timeoutMs`;
 * - an answer longer than `maxResponseBytes` is cut off and is an error.
 */
export interface PostJsonOptions {
  headers?: Record<string, string>;
  connectTimeoutMs: number;
  timeoutMs: number;
  /** @defaultValue 65536 (64 KiB) */
  maxResponseBytes?: number;
}

export interface JsonPostAnswer {
  status: number;
  /** The answer's body as text (at most maxResponseBytes). */
  text: string;
}

export type OutboundHttpFailure = 'redirect' | 'too-large' | 'connect-timeout' | 'timeout' | 'network';

/** Why a POST got no usable answer; its message names the URL without credentials. */
export class OutboundHttpError extends Error {
  override name = 'OutboundHttpError';
  constructor(
    readonly failure: OutboundHttpFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export const defaultMaxResponseBytes = 64 * 1024;

export function postJson(url: string, body: string, options: PostJsonOptions): Promise<JsonPostAnswer> {
  const target = new URL(url);
  // node:http would turn user-info into an Authorization header for whoever answers: never sent.
  target.username = '';
  target.password = '';
  const where = describeEndpoint(url);
  const maxBytes = options.maxResponseBytes ?? defaultMaxResponseBytes;
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<JsonPostAnswer>((resolve, reject) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (error: OutboundHttpError | null, answer?: JsonPostAnswer) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(answer!);
    };
    const request = client.request(target, {
      method: 'POST',
      // A fresh connection each time: the connect timeout measures this request's own connection.
      agent: false,
      headers: { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    timers.push(
      setTimeout(
        () => finish(new OutboundHttpError('timeout', `${where}: no complete answer within ${options.timeoutMs} ms (HTTP_TIMEOUT_MS)`)),
        options.timeoutMs,
      ),
    );
    request.on('socket', (socket) => {
      const connected = target.protocol === 'https:' ? 'secureConnect' : 'connect';
      const connectTimer = setTimeout(
        () => finish(new OutboundHttpError('connect-timeout', `${where}: no connection within ${options.connectTimeoutMs} ms (HTTP_CONNECT_TIMEOUT_MS)`)),
        options.connectTimeoutMs,
      );
      timers.push(connectTimer);
      socket.once(connected, () => clearTimeout(connectTimer));
    });
    request.on('error', (error) => finish(new OutboundHttpError('network', `${where}: ${error.message}`)));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        response.resume();
        finish(new OutboundHttpError('redirect', `${where} answered ${status} (a redirect): redirects are not followed, set the final URL`, status));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(new OutboundHttpError('too-large', `${where}: answer longer than ${maxBytes} bytes, cut off`, status));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => finish(null, { status, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => finish(new OutboundHttpError('network', `${where}: ${error.message}`, status)));
    });
    request.end(body);
  });
}
