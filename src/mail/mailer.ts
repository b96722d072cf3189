import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type NodemailerError, type SendMailOptions } from 'nodemailer';
import { PermanentError } from '../errors.js';
import { buildMessageId, buildNoticeHeaders, buildOutboxFileName } from './headers.js';
import { buildQuotedPrintablePart } from './quoted-printable.js';
import type { NoticeData, Recipient, RenderedNotice } from './types.js';
import { isProcessAlive } from '../process-alive.js';

export { buildMessageId, encodeIdPart } from './headers.js';
export { selectRecipients } from '../policy/recipients.js';

export interface MailerOptions {
  /** `smtp://user:pass@host:port` or `smtps://…`: pooled SMTP. Unset: one `.eml` file per message in outboxDir. */
  smtpUrl?: string;
  outboxDir: string;
  /** The From header, e.g. `Membership <membership@example.com>`. */
  from: string;
  /** The right-hand side of every Message-ID. */
  domain: string;
  /** SMTP only. @defaultValue no limit */
  maxMessagesPerSecond?: number;
  /** SMTP only: connections the pool opens at most. @defaultValue 5 */
  maxConnections?: number;
}

export interface SendResult {
  messageId: string;
  /** The addresses the server (or the outbox) took. */
  accepted: string[];
  /** Addresses refused while others were accepted: by the server, or for bad syntax before sending. */
  rejected: string[];
}

export interface Mailer {
  /**
   * Sends one message to all recipients. Throws PermanentError when no retry can help (every
   * recipient refused with 5xx, no valid address); any other error is transient and retryable.
   */
  send(rendered: RenderedNotice, data: NoticeData, recipients: readonly Recipient[]): Promise<SendResult>;
  /** Resolves when mail can go out now: the SMTP server answers (and takes our login), or the outbox dir is writable. */
  verify(): Promise<void>;
  /** Lets messages in flight finish, then closes SMTP connections. */
  close(): Promise<void>;
}

// Bounded so a job on a dead server fails (and is retried with backoff) instead of hanging for minutes.
const connectionTimeoutMs = 15_000;
const greetingTimeoutMs = 15_000;
const socketTimeoutMs = 60_000;

const domainPattern = /^[A-Za-z0-9.-]+$/;

export function createMailer(options: MailerOptions): Mailer {
  if (!domainPattern.test(options.domain)) {
    throw new Error(`mail domain "${options.domain}" is not a host name (letters, digits, dots, hyphens)`);
  }
  const deliver = options.smtpUrl
    ? createSmtpDelivery(options.smtpUrl, options.maxMessagesPerSecond, options.maxConnections)
    : createOutboxDelivery(options.outboxDir);
  const inFlight = new Set<Promise<unknown>>();
  let isClosed = false;

  async function sendNotice(rendered: RenderedNotice, data: NoticeData, recipients: readonly Recipient[]): Promise<SendResult> {
    const { valid, invalid } = partitionAddresses(recipients);
    if (valid.length === 0) {
      throw new PermanentError(
        recipients.length === 0
          ? `notice ${data.kind} for subscription ${data.subscriptionId} has no recipients`
          : `notice ${data.kind} for subscription ${data.subscriptionId}: no valid recipient address (${invalid.join(', ')})`,
      );
    }
    const message = buildNoticeMessage(rendered, data, valid, options);
    const result = await deliver.send(message, data, valid.map((recipient) => recipient.email));
    return { messageId: message.messageId, accepted: result.accepted, rejected: [...invalid, ...result.rejected] };
  }

  return {
    send(rendered, data, recipients) {
      if (isClosed) return Promise.reject(new Error('mailer is closed'));
      const sending = sendNotice(rendered, data, recipients);
      // close() waits for these, so a shutdown never cuts a message off.
      const tracked: Promise<unknown> = sending.catch(() => undefined).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return sending;
    },
    verify() {
      return deliver.verify();
    },
    async close() {
      isClosed = true;
      await Promise.all(inFlight);
      await deliver.close();
    },
  };
}

/** What nodemailer is handed for a notice: the text and HTML parts come encoded (see buildQuotedPrintablePart). */
export function buildNoticeMessage(
  rendered: RenderedNotice,
  data: NoticeData,
  recipients: readonly Recipient[],
  options: Pick<MailerOptions, 'from' | 'domain'>,
): SendMailOptions & { messageId: string } {
  return {
    from: options.from,
    to: recipients.map((recipient) => ({ name: recipient.name, address: recipient.email })),
    subject: rendered.subject,
    text: buildQuotedPrintablePart('text/plain', rendered.text),
    html: buildQuotedPrintablePart('text/html', rendered.html),
    messageId: buildMessageId(data, options.domain),
    // The notice's own time (the simulated day in `simulate`); old outbox rows without one get the send time.
    ...(data.messageDate && !Number.isNaN(Date.parse(data.messageDate)) ? { date: new Date(data.messageDate) } : {}),
    headers: buildNoticeHeaders(data),
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

interface Delivery {
  send(message: SendMailOptions, data: NoticeData, addresses: string[]): Promise<{ accepted: string[]; rejected: string[] }>;
  verify(): Promise<void>;
  close(): Promise<void>;
}

function createSmtpDelivery(smtpUrl: string, maxMessagesPerSecond: number | undefined, maxConnections = 5): Delivery {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections,
    connectionTimeout: connectionTimeoutMs,
    greetingTimeout: greetingTimeoutMs,
    socketTimeout: socketTimeoutMs,
    ...(maxMessagesPerSecond ? { rateLimit: maxMessagesPerSecond, rateDelta: 1000 } : {}),
  });
  return {
    async send(message, _data, addresses) {
      try {
        const info = await transport.sendMail(message);
        return { accepted: info.accepted.map(String), rejected: info.rejected.map(String) };
      } catch (error) {
        throw classifySmtpError(error as NodemailerError, addresses);
      }
    },
    async verify() {
      await transport.verify();
    },
    async close() {
      transport.close();
    },
  };
}

/** RFC 5321: a 5xx reply is final (nodemailer marks it `permanent`); everything else may pass on a later try. */
function classifySmtpError(error: NodemailerError, recipients: readonly string[]): Error {
  if (error.permanent === true) {
    const perRecipient = error.rejectedErrors?.map((rejection) => `${rejection.recipient ?? '?'}: ${rejection.response ?? rejection.message}`);
    const detail = perRecipient?.length ? perRecipient.join('; ') : (error.response ?? error.message);
    const what = error.code === 'EENVELOPE' && error.command === 'RCPT TO' ? 'rejected every recipient' : 'refused the message';
    return new PermanentError(`SMTP server ${what} (${recipients.join(', ')}): ${detail}`, { cause: error });
  }
  return new Error(`SMTP delivery to ${recipients.join(', ')} failed, will retry: ${error.message}`, { cause: error });
}

function createOutboxDelivery(outboxDir: string): Delivery {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  let creatingDirectory: Promise<unknown> | undefined;
  return {
    async send(message, data, addresses) {
      creatingDirectory ??= mkdir(outboxDir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
        creatingDirectory = undefined;
        throw error;
      });
      await creatingDirectory;
      const info = await transport.sendMail(message);
      await writeFileAtomically(path.join(outboxDir, buildOutboxFileName(data)), info.message as Buffer);
      return { accepted: addresses, rejected: [] };
    },
    async verify() {
      await mkdir(outboxDir, { recursive: true, mode: 0o700 });
      await access(outboxDir, constants.W_OK);
    },
    async close() {
      transport.close();
    },
  };
}

const temporaryName = /\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * The temporary files of outbox writes a killed process left (see writeFileAtomically); a file
 * of a process still alive (another daemon on the same data dir) is its write in progress.
 */
export async function removeInterruptedOutboxWrites(outboxDir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(outboxDir).catch(() => [] as string[])) {
    const pid = Number(temporaryName.exec(name)?.[1] ?? 0);
    if (!pid || (pid !== process.pid && isProcessAlive(pid))) continue;
    await rm(path.join(outboxDir, name), { force: true });
    removed += 1;
  }
  return removed;
}

/** A reader of the outbox never sees half a message: write aside, then rename over. */
async function writeFileAtomically(file: string, content: Buffer): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // Owner-only whatever the umask: a message holds names, addresses and amounts (SPEC §9).
    await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

// Deliberately loose: the server has the last word; this only stops what no server would take.
const addressPattern = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".][^\s@<>()[\]\\,;:"]*$/;

function partitionAddresses(recipients: readonly Recipient[]): { valid: Recipient[]; invalid: string[] } {
  const valid: Recipient[] = [];
  const invalid: string[] = [];
  for (const recipient of recipients) {
    if (addressPattern.test(recipient.email) && !recipient.email.endsWith('.')) valid.push(recipient);
    else invalid.push(recipient.email);
  }
  return { valid, invalid };
}
