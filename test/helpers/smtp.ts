import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

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

/** A real SMTP server on a free loopback port: no TLS, no authentication required. */
export async function startSmtpServer(): Promise<SmtpTestServer> {
  const messages: ParsedMail[] = [];
  const rawMessages: Buffer[] = [];
  const arrivals = new EventEmitter();
  let rejecting: SmtpReply | undefined;
  let server: SMTPServer | undefined;
  let port = 0;

  function createServer(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // stop() in a test should take the server down now, not after the 30 s grace period.
      closeTimeout: 10,
      onRcptTo(_address, _session, callback) {
        if (!rejecting) return callback();
        const error = Object.assign(new Error(rejecting.message), { responseCode: rejecting.code });
        callback(error);
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
    });
  }

  async function start(): Promise<void> {
    if (server) throw new Error('SMTP test server is already running');
    const next = createServer();
    // A client that dies mid-session (a daemon killed by a test) resets its connection: that is
    // the client's story, not a failure of this server.
    next.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') throw error;
    });
    const listening = once(next.server, 'listening');
    next.listen(port, '127.0.0.1');
    await Promise.race([listening, once(next.server, 'error').then(([error]) => Promise.reject(error as Error))]);
    port = (next.server.address() as AddressInfo).port;
    server = next;
  }

  async function stop(): Promise<void> {
    const current = server;
    if (!current) return;
    server = undefined;
    await new Promise<void>((resolve) => current.close(() => resolve()));
  }

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

  await start();
  return {
    get port() {
      return port;
    },
    get url() {
      return `smtp://127.0.0.1:${port}`;
    },
    messages,
    rawMessages,
    waitForMessages,
    setRejecting(reply) {
      rejecting = reply;
    },
    stop,
    start,
  };
}
