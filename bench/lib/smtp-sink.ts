import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

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

/** A real SMTP server on loopback that reads every message and throws it away: no parsing, no storage. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  let port = options.port ?? 0;
  let count = 0;
  let bytes = 0;
  const arrivals: SinkArrival[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();
  let server: SMTPServer | null = null;

  const onArrival = () => {
    count++;
    for (const waiter of waiters) {
      if (count >= waiter.count) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  function createServer(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      disableReverseLookup: true,
      // An outage takes the server down now, not after the default 30 s grace period.
      closeTimeout: 10,
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
    });
  }

  async function start(): Promise<void> {
    if (server) throw new Error('SMTP sink is already listening');
    const next = createServer();
    // A client killed mid-session resets its connection: its story, not the sink's failure.
    next.on('error', () => {});
    const listening = once(next.server, 'listening');
    next.listen(port, '127.0.0.1');
    await Promise.race([listening, once(next.server, 'error').then(([error]) => Promise.reject(error as Error))]);
    port = (next.server.address() as AddressInfo).port;
    server = next;
  }

  async function stop(): Promise<void> {
    const current = server;
    if (!current) return;
    server = null;
    await new Promise<void>((resolve) => current.close(() => resolve()));
  }

  await start();
  return {
    get port() {
      return port;
    },
    get url() {
      return `smtp://127.0.0.1:${port}`;
    },
    get count() {
      return count;
    },
    get bytes() {
      return bytes;
    },
    arrivals,
    get isListening() {
      return server !== null;
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
    stop,
    start,
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
  const child: ChildProcess = fork(fileURLToPath(new URL('./smtp-sink-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
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
