import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions } from 'smtp-server';
import { trackChild } from './processes.js';

/**
 * Real SMTP servers on loopback: the tests' (smtp-server, every message parsed and kept) and the
 * benches' sink (a lean one of its own, messages counted and thrown away). Both listen on a free
 * port that stays theirs across stop() and start(), so a client sees an outage and then the same
 * server again.
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
  /** The most client sessions open at once since creation or the last resetPeakSessions(). */
  readonly peakSessions: number;
  resetPeakSessions(): void;
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
  let openSessions = 0;
  let peakSessions = 0;
  const listener = createListener(
    {
      disabledCommands: ['STARTTLS'],
      onConnect(_session, callback) {
        openSessions += 1;
        peakSessions = Math.max(peakSessions, openSessions);
        callback();
      },
      onClose() {
        openSessions -= 1;
      },
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
    get peakSessions() {
      return peakSessions;
    },
    resetPeakSessions() {
      peakSessions = openSessions;
    },
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

/**
 * The benches' SMTP server: reads every message and throws it away. It stands for a remote mail
 * server, whose work is not ours to measure, so it is lean: SMTP (RFC 5321: greeting, EHLO/HELO,
 * MAIL, RCPT, DATA, RSET, NOOP, QUIT; PIPELINING) on a plain socket, the end of the data found with
 * Buffer.indexOf, nothing parsed but the header's Message-ID when recording. smtp-server here took
 * 1.5 ms of CPU per notice, as much as PostgreSQL (bench/backends.ts prints it).
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  let count = 0;
  let bytes = 0;
  const arrivals: SinkArrival[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();

  const onArrival = (size: number, header: string) => {
    count++;
    bytes += size;
    if (options.isRecording) arrivals.push({ messageId: findMessageId(header), atMs: Date.now() });
    for (const waiter of waiters) {
      if (count >= waiter.count) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const listener = createSocketListener((socket) => serveSinkSession(socket, options.isRecording ?? false, onArrival), options.port ?? 0);
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

/** A plain TCP listener on loopback whose stop() also drops the open connections (an outage). */
function createSocketListener(onConnection: (socket: Socket) => void, port: number): Listener {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  return {
    get port() {
      return port;
    },
    get isListening() {
      return server !== null;
    },
    async start() {
      if (server) throw new Error('SMTP sink is already listening');
      const next = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // A client killed mid-session resets its connection: the client's story, not the sink's.
        socket.on('error', () => socket.destroy());
        onConnection(socket);
      });
      const listening = once(next, 'listening');
      next.listen(port, '127.0.0.1');
      await Promise.race([listening, once(next, 'error').then(([error]) => Promise.reject(error as Error))]);
      port = (next.address() as AddressInfo).port;
      server = next;
    },
    async stop() {
      const current = server;
      if (!current) return;
      server = null;
      const closed = new Promise<void>((resolve) => current.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

const dataEnd = Buffer.from('\r\n.\r\n');

/**
 * One SMTP session of the sink. Commands are read a line at a time (a pipelining client's too);
 * after DATA's 354 the bytes up to CRLF.CRLF are the message: counted, not kept, except its header
 * when recording. Every envelope is accepted.
 */
function serveSinkSession(socket: Socket, isRecording: boolean, onArrival: (size: number, header: string) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  let isData = false;
  let size = 0;
  let header = '';
  let isHeaderDone = false;
  // The CRLF before the terminator may be the last bytes of the previous chunk: search from them.
  let tail: Buffer = Buffer.alloc(0);
  const reply = (line: string) => socket.write(`${line}\r\n`);
  reply('220 127.0.0.1 ESMTP sink');

  const readData = (chunk: Buffer): Buffer | null => {
    const searched = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    const end = searched.indexOf(dataEnd);
    const taken = end < 0 ? chunk : chunk.subarray(0, Math.max(0, end + 2 - tail.length));
    size += taken.length;
    if (isRecording && !isHeaderDone) {
      header += taken.toString('latin1');
      const headerEnd = header.indexOf('\r\n\r\n');
      if (headerEnd >= 0) header = header.slice(0, headerEnd);
      isHeaderDone = headerEnd >= 0 || header.length > headerLimit;
    }
    if (end < 0) {
      tail = searched.subarray(Math.max(0, searched.length - (dataEnd.length - 1)));
      return null;
    }
    onArrival(size, header);
    reply('250 2.0.0 Ok: queued');
    isData = false;
    return searched.subarray(end + dataEnd.length);
  };

  const runCommand = (line: string) => {
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') {
      // PIPELINING as smtp-server (and most servers) announce it: the client sends the envelope and DATA at once.
      socket.write('250-127.0.0.1\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n');
    } else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') {
      reply('250 2.0.0 Ok');
    } else if (verb === 'DATA') {
      isData = true;
      size = 0;
      header = '';
      isHeaderDone = !isRecording;
      // A message that is empty ends with ".\r\n" at once: as if a CRLF came before it.
      tail = Buffer.from('\r\n');
      reply('354 End data with <CR><LF>.<CR><LF>');
    } else if (verb === 'QUIT') {
      reply('221 2.0.0 Bye');
      socket.end();
    } else {
      reply('502 5.5.2 Command not implemented');
    }
  };

  socket.on('data', (chunk: Buffer) => {
    let rest: Buffer | null = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    // The replies to a pipelined batch go out in one write.
    socket.cork();
    process.nextTick(() => socket.uncork());
    while (rest !== null && rest.length > 0) {
      if (isData) {
        rest = readData(rest);
        continue;
      }
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) {
        pending = rest;
        return;
      }
      runCommand(rest.subarray(0, lineEnd).toString('latin1'));
      rest = rest.subarray(lineEnd + 2);
    }
  });
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
