import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions } from 'smtp-server';
import { trackChild } from './processes.js';

/**
 * Real SMTP servers on loopback (smtp-server): the tests' (every message parsed and kept) and the
 * benches' sink (messages counted and thrown away). Both listen on a free port that stays theirs
 * across stop() and start(), so a client sees an outage and then the same server again.
 */

interface Listener {
  readonly port: number;
  readonly isListening: boolean;
  start(): Promise<void>;
  /** Stops listening and drops open connections (pooled clients see the server go away). */
  stop(): Promise<void>;
}

/** `strict`: an unexpected server error is thrown (a test sees it); otherwise every error is ignored (a bench's outage). */
function createListener(options: SMTPServerOptions, port: number, name: string, strict: boolean): Listener {
  let server: SMTPServer | null = null;
  return {
    get port() {
      return port;
    },
    get isListening() {
      return server !== null;
    },
    async start() {
      if (server) throw new Error(`${name} is already listening`);
      const next = new SMTPServer({
        authOptional: true,
        logger: false,
        disableReverseLookup: true,
        // stop() takes the server down now, not after the default 30 s grace period.
        closeTimeout: 10,
        ...options,
      });
      // A client killed mid-session (a daemon killed by a test) resets its connection: that is
      // the client's story, not a failure of this server.
      next.on('error', (error: NodeJS.ErrnoException) => {
        if (strict && error.code !== 'ECONNRESET' && error.code !== 'EPIPE') throw error;
      });
      const listening = once(next.server, 'listening');
      next.listen(port, '127.0.0.1');
      await Promise.race([listening, once(next.server, 'error').then(([error]) => Promise.reject(error as Error))]);
      port = (next.server.address() as AddressInfo).port;
      server = next;
    },
    async stop() {
      const current = server;
      if (!current) return;
      server = null;
      await new Promise<void>((resolve) => current.close(() => resolve()));
    },
  };
}

export interface SmtpReply {
  /** e.g. 550 (permanent) or 450 (transient) */
  code: number;
  message: string;
}

export interface SmtpTestServer {
  /** Fixed for the server's life, across stop() and start(). */
  readonly port: number;
  /** `smtp://127.0.0.1:{port}` */
  readonly url: string;
  /** Every message received since creation, parsed, in arrival order. */
  readonly messages: ParsedMail[];
  /** The same messages as received on the wire. */
  readonly rawMessages: Buffer[];
  /** Resolves once at least `count` messages have arrived in total. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  /** Answers every RCPT TO with this reply until called with undefined. */
  setRejecting(reply: SmtpReply | undefined): void;
  /** Stops listening and drops open connections (pooled clients see the server go away). */
  stop(): Promise<void>;
  /** Listens again on the same port after stop(). */
  start(): Promise<void>;
}

/** The tests' SMTP server on a free loopback port: no TLS, no authentication required, every message parsed. */
export async function startSmtpServer(): Promise<SmtpTestServer> {
  const messages: ParsedMail[] = [];
  const rawMessages: Buffer[] = [];
  const arrivals = new EventEmitter();
  let rejecting: SmtpReply | undefined;
  const listener = createListener(
    {
      disabledCommands: ['STARTTLS'],
      onRcptTo(_address, _session, callback) {
        if (!rejecting) return callback();
        callback(Object.assign(new Error(rejecting.message), { responseCode: rejecting.code }));
      },
      onData(stream: SMTPServerDataStream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', callback);
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              rawMessages.push(raw);
              messages.push(parsed);
              arrivals.emit('message');
              callback();
            },
            (error: Error) => callback(error),
          );
        });
      },
    },
    0,
    'SMTP test server',
    true,
  );

  function waitForMessages(count: number, timeoutMs = 5000): Promise<ParsedMail[]> {
    if (messages.length >= count) return Promise.resolve(messages.slice());
    return new Promise((resolve, reject) => {
      const onMessage = (): void => {
        if (messages.length < count) return;
        clearTimeout(timer);
        arrivals.off('message', onMessage);
        resolve(messages.slice());
      };
      const timer = setTimeout(() => {
        arrivals.off('message', onMessage);
        reject(new Error(`expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
      }, timeoutMs);
      arrivals.on('message', onMessage);
    });
  }

  await listener.start();
  return {
    get port() {
      return listener.port;
    },
    get url() {
      return `smtp://127.0.0.1:${listener.port}`;
    },
    messages,
    rawMessages,
    waitForMessages,
    setRejecting(reply) {
      rejecting = reply;
    },
    stop: () => listener.stop(),
    start: () => listener.start(),
  };
}

/** One message the sink accepted: its Message-ID and when the server took it (before its 250 reply). */
export interface SinkArrival {
  messageId: string | null;
  /** Date.now() when the whole message was in, just before the 250 went out. */
  atMs: number;
}

export interface SmtpSink {
  /** Fixed for the sink's life, across stop() and start(). */
  readonly port: number;
  readonly url: string;
  /** Messages accepted since creation. */
  readonly count: number;
  /** Bytes of message data accepted since creation. */
  readonly bytes: number;
  /** Every accepted message in arrival order (only when created with `isRecording`). */
  readonly arrivals: readonly SinkArrival[];
  readonly isListening: boolean;
  /** Resolves once `count` messages in total have arrived; rejects after `timeoutMs`. */
  waitForCount(count: number, timeoutMs?: number): Promise<void>;
  /** Stops listening and drops open connections: clients see the server go away (an outage). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Keep each message's Message-ID and arrival time (the fault harness); otherwise only count. */
  isRecording?: boolean;
  port?: number;
}

const headerLimit = 64 * 1024;

function findMessageId(header: string): string | null {
  // A long Message-ID is folded onto the next line (RFC 5322 §2.2.3): unfold first.
  return /^Message-ID:[ \t]*(<[^>\r\n]+>)/im.exec(header.replace(/\r\n[ \t]+/g, ' '))?.[1] ?? null;
}

/** The benches' SMTP server: reads every message and throws it away; no parsing, no storage. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  let count = 0;
  let bytes = 0;
  const arrivals: SinkArrival[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();

  const onArrival = () => {
    count++;
    for (const waiter of waiters) {
      if (count >= waiter.count) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const listener = createListener(
    {
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream: SMTPServerDataStream, _session, callback) {
        let header = '';
        let isHeaderDone = !options.isRecording;
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (isHeaderDone) return;
          header += chunk.toString('latin1');
          const end = header.indexOf('\r\n\r\n');
          if (end >= 0) {
            header = header.slice(0, end);
            isHeaderDone = true;
          } else if (header.length > headerLimit) isHeaderDone = true;
        });
        stream.on('error', callback);
        stream.on('end', () => {
          bytes += size;
          if (options.isRecording) arrivals.push({ messageId: findMessageId(header), atMs: Date.now() });
          onArrival();
          callback();
        });
      },
    },
    options.port ?? 0,
    'SMTP sink',
    false,
  );

  await listener.start();
  return {
    get port() {
      return listener.port;
    },
    get url() {
      return `smtp://127.0.0.1:${listener.port}`;
    },
    get count() {
      return count;
    },
    get bytes() {
      return bytes;
    },
    arrivals,
    get isListening() {
      return listener.isListening;
    },
    waitForCount(target, timeoutMs = 60_000) {
      if (count >= target) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          count: target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`SMTP sink: expected ${target} messages within ${timeoutMs} ms, got ${count}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: () => listener.stop(),
    start: () => listener.start(),
  };
}

export interface SmtpSinkProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** Messages and bytes the sink has accepted so far, and the CPU seconds its process used. */
  readCount(): Promise<{ count: number; bytes: number; cpuSeconds: number }>;
  stop(): Promise<void>;
}

/**
 * The sink in a child process, so that reading and discarding messages takes its own core and
 * not the event loop of the process being measured.
 */
export async function startSmtpSinkProcess(): Promise<SmtpSinkProcess> {
  const child: ChildProcess = trackChild(
    fork(fileURLToPath(new URL('./smtp-sink-child.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`SMTP sink process exited with status ${String(code)}`))),
  ])) as [{ port: number }];
  let nextRequest = 0;
  const pending = new Map<number, (value: { count: number; bytes: number; cpuSeconds: number }) => void>();
  child.on('message', (message: { id?: number; count?: number; bytes?: number; cpuSeconds?: number }) => {
    if (message.id === undefined) return;
    pending.get(message.id)?.({ count: message.count ?? 0, bytes: message.bytes ?? 0, cpuSeconds: message.cpuSeconds ?? 0 });
    pending.delete(message.id);
  });
  return {
    port: ready.port,
    url: `smtp://127.0.0.1:${ready.port}`,
    pid: child.pid!,
    readCount() {
      const id = nextRequest++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.send({ id });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
