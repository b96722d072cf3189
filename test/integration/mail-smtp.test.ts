import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.js';
import { createMailer, type Mailer } from '../../src/mail/mailer.js';
import { createNoticeRenderer, type NoticeRenderer } from '../../src/mail/render.js';
import { buildSampleNotice } from '../../src/mail/sample.js';
import type { NoticeData, Recipient } from '../../src/mail/types.js';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp.js';

const domain = 'lifecycle.test';
const from = 'Membership <membership@lifecycle.test>';
const recipients: Recipient[] = [
  { name: 'Mei Lin', email: 'mei@contoso.example' },
  { name: '王小明', email: 'ming@contoso.example' },
];

let smtp: SmtpTestServer;
let renderer: NoticeRenderer;
let scratchDir: string;
const mailers: Mailer[] = [];

beforeAll(async () => {
  [smtp, renderer, scratchDir] = await Promise.all([
    startSmtpServer(),
    createNoticeRenderer(),
    mkdtemp(path.join(tmpdir(), 'mail-smtp-')),
  ]);
});

afterEach(async () => {
  smtp.setRejecting(undefined);
  await Promise.all(mailers.splice(0).map((mailer) => mailer.close()));
});

afterAll(async () => {
  await smtp.stop();
  await rm(scratchDir, { recursive: true, force: true });
});

function openMailer(options: { smtpUrl?: string; outboxDir?: string; maxConnections?: number } = {}): Mailer {
  const mailer = createMailer({ outboxDir: path.join(scratchDir, 'unused-outbox'), from, domain, ...options });
  mailers.push(mailer);
  return mailer;
}

function buildNotice(): NoticeData {
  return {
    ...buildSampleNotice('remind-after', 'zh-TW'),
    subscriptionId: 'S-42',
    partner: { id: 'P-7', name: '<script>alert(1)</script> 康托索' },
  };
}

function expectSpecHeaders(message: ParsedMail, data: NoticeData): void {
  expect(message.messageId).toBe(`<${data.kind}.${data.subscriptionId}.${data.anniversary}@${domain}>`);
  expect(message.headers.get('x-lifecycle-notice')).toBe(data.kind);
  expect(message.headers.get('x-lifecycle-subscription')).toBe(data.subscriptionId);
  expect(message.headers.get('x-lifecycle-anniversary')).toBe(data.anniversary);
  expect(message.headers.get('auto-submitted')).toBe('auto-generated');
}

const normalizeNewlines = (text: string): string => text.replace(/\r\n/g, '\n').trimEnd();

describe('SMTP delivery', () => {
  it('delivers one multipart/alternative message with the SPEC headers, decoded intact', async () => {
    const data = buildNotice();
    const rendered = renderer.render(data);
    const before = smtp.messages.length;

    const result = await openMailer({ smtpUrl: smtp.url }).send(rendered, data, recipients);

    expect(result.messageId).toBe(`<remind-after.S-42.2020-03-10@${domain}>`);
    expect(result.accepted).toEqual(recipients.map((recipient) => recipient.email));
    const message = (await smtp.waitForMessages(before + 1))[before]!;
    const raw = smtp.rawMessages[before]!.toString('utf8');
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;/im);
    expect(raw).toMatch(/^Subject: =\?UTF-8\?/im);
    expect(message.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(message.subject).toBe(rendered.subject);
    expect(message.subject).toContain('剩下 7 天');
    expect(normalizeNewlines(message.text ?? '')).toBe(normalizeNewlines(rendered.text));
    expect(normalizeNewlines(message.html || '')).toBe(normalizeNewlines(rendered.html));
    expect(message.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; 康托索');
    expect(message.html).not.toContain('<script>alert');
    const to = Array.isArray(message.to) ? message.to.flatMap((address) => address.value) : (message.to?.value ?? []);
    expect(to.map((address) => address.address)).toEqual(recipients.map((recipient) => recipient.email));
    expect(to.map((address) => address.name)).toEqual(['Mei Lin', '王小明']);
    expectSpecHeaders(message, data);
    // Both parts quoted-printable (Chinese text), in lines a relay passes unchanged.
    expect(raw.match(/^Content-Transfer-Encoding: quoted-printable$/gim)).toHaveLength(2);
    expect(raw.split('\r\n').filter((line) => line.length > 76)).toEqual([]);
  });

  it('opens at most SMTP_MAX_CONNECTIONS connections however many messages wait', async () => {
    const sendBurst = async (mailer: Mailer, first: number): Promise<void> => {
      const notices = Array.from({ length: 12 }, (_, i): NoticeData => ({ ...buildNotice(), subscriptionId: `S-burst-${first + i}` }));
      const before = smtp.messages.length;
      smtp.resetPeakSessions();
      await Promise.all(notices.map((data) => mailer.send(renderer.render(data), data, recipients)));
      await smtp.waitForMessages(before + notices.length);
    };
    await sendBurst(openMailer({ smtpUrl: smtp.url, maxConnections: 2 }), 0);
    expect(smtp.peakSessions).toBe(2);
    // The pool's default opens more for the same burst: the limit above is the option's doing.
    await sendBurst(openMailer({ smtpUrl: smtp.url }), 100);
    expect(smtp.peakSessions).toBeGreaterThan(2);
  });

  it('fails transiently (plain Error) when no server is listening', async () => {
    const down = await startSmtpServer();
    await down.stop();
    const data = buildNotice();
    const sending = openMailer({ smtpUrl: down.url }).send(renderer.render(data), data, recipients);
    await expect(sending).rejects.toThrow(/will retry/);
    await expect(sending).rejects.not.toBeInstanceOf(PermanentError);
  });

  it('fails transiently when the server defers every recipient with 4xx', async () => {
    smtp.setRejecting({ code: 450, message: '4.2.1 Mailbox busy, try later' });
    const data = buildNotice();
    const sending = openMailer({ smtpUrl: smtp.url }).send(renderer.render(data), data, recipients);
    await expect(sending).rejects.toThrow(/450/);
    await expect(sending).rejects.not.toBeInstanceOf(PermanentError);
  });

  it('fails permanently when the server rejects every recipient with 550, naming them and the reply', async () => {
    smtp.setRejecting({ code: 550, message: '5.1.1 No such user here' });
    const data = buildNotice();
    const sending = openMailer({ smtpUrl: smtp.url }).send(renderer.render(data), data, recipients);
    await expect(sending).rejects.toBeInstanceOf(PermanentError);
    await expect(sending).rejects.toThrow(/mei@contoso\.example.*550 5\.1\.1 No such user here/);
  });

  it('fails permanently, without connecting, when no address is valid', async () => {
    const data = buildNotice();
    const sending = openMailer({ smtpUrl: smtp.url }).send(renderer.render(data), data, [
      { name: 'Broken', email: 'not an address' },
    ]);
    await expect(sending).rejects.toBeInstanceOf(PermanentError);
    await expect(sending).rejects.toThrow(/not an address/);
  });

  it('delivers again after the server restarts on the same port', async () => {
    const mailer = openMailer({ smtpUrl: smtp.url });
    const data = buildNotice();
    const rendered = renderer.render(data);
    await mailer.send(rendered, data, recipients);
    const port = smtp.port;
    await smtp.stop();
    await smtp.start();
    expect(smtp.port).toBe(port);
    const before = smtp.messages.length;
    await mailer.send(rendered, data, recipients);
    await smtp.waitForMessages(before + 1);
  });
});

describe('outbox delivery', () => {
  it('writes one parseable .eml per notice, named by kind, subscription and anniversary', async () => {
    const outboxDir = path.join(scratchDir, 'outbox');
    const data = { ...buildSampleNotice('auto-renew-receipt', 'en'), subscriptionId: 'S/9 x' };
    const rendered = renderer.render(data);

    const result = await openMailer({ outboxDir }).send(rendered, data, recipients);

    expect(result.accepted).toEqual(recipients.map((recipient) => recipient.email));
    expect(await readdir(outboxDir)).toEqual(['auto-renew-receipt.S=2F9=20x.2019-09-01.eml']);
    const message = await simpleParser(await readFile(path.join(outboxDir, 'auto-renew-receipt.S=2F9=20x.2019-09-01.eml')));
    expect(message.messageId).toBe(`<auto-renew-receipt.S=2F9=20x.2019-09-01@${domain}>`);
    expect(message.headers.get('x-lifecycle-notice')).toBe('auto-renew-receipt');
    expect(message.headers.get('x-lifecycle-subscription')).toBe('S/9 x');
    expect(message.headers.get('x-lifecycle-anniversary')).toBe('2019-09-01');
    expect(message.headers.get('auto-submitted')).toBe('auto-generated');
    expect(message.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(message.subject).toBe(rendered.subject);
    expect(normalizeNewlines(message.text ?? '')).toBe(normalizeNewlines(rendered.text));
    expect(message.html || '').toContain('SAMPLE-INV-1');

    await openMailer({ outboxDir }).send(rendered, data, recipients);
    expect(await readdir(outboxDir)).toHaveLength(1);
  });
});
