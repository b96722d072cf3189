import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InputError } from '../../src/errors.js';
import { importFile } from '../../src/import/import-file.js';
import { buildActionJobId, buildDeliverJobId, waitUntilIdle } from '../../src/jobs/queues.js';
import { runScan } from '../../src/jobs/scan.js';
import { buildMessageId, buildOutboxFileName } from '../../src/mail/headers.js';
import { addDays } from '../../src/policy/dates.js';
import { idMaxLength, textLimits } from '../../src/policy/limits.js';
import { useAdminWorlds } from '../helpers/admin.js';
import { outboxMail } from '../helpers/world.js';

const D = '2019-09-30';
const token = 'admin-token-for-tests-0123456789';

/** An id of the maximum length made of its widest character: "." is `=2E` in file names and Message-IDs. */
const widest = (first: string, length = idMaxLength) => `${first}${'.'.repeat(length - 1)}`;
const reminded = { id: widest('A'), anniversary: addDays(D, 15) };
const invoiced = { id: widest('B'), anniversary: D };

const servers = useAdminWorlds();

/** One partner and two subscriptions with ids of the widest kind: a reminder due on D, and a bank-transfer auto-renewal on D (an invoice). */
function writeDataset(dir: string, subscriptionIds: [string, string] = [reminded.id, invoiced.id]): string {
  const partnerId = widest('P');
  const file = path.join(dir, `widest-${Math.random().toString(36).slice(2)}.json`);
  const data = {
    partners: [
      {
        id: partnerId,
        name: 'N'.repeat(textLimits.name),
        billTo: { line1: '1 Test Rd', city: 'Taipei', postalCode: '100', country: 'TW' },
        contacts: [{ name: 'Admin', email: 'admin@widest.example', role: 'global_admin' }],
      },
    ],
    subscriptions: [
      { id: subscriptionIds[0], partnerId, offer: 'action_pack', purchasedOn: addDays(reminded.anniversary, -365), anniversaryOn: reminded.anniversary },
      {
        id: subscriptionIds[1],
        partnerId,
        offer: 'action_pack',
        purchasedOn: addDays(invoiced.anniversary, -365),
        anniversaryOn: invoiced.anniversary,
        autoRenew: true,
        payment: { method: 'bank_transfer', contactName: 'AP', phone: '1', email: 'ap@widest.example' },
      },
    ],
  };
  writeFileSync(file, JSON.stringify(data));
  return file;
}

describe('an id of the maximum length, at its widest, through every consumer', () => {
  it('import → job → SMTP Message-ID → admin API; one character more is refused by the import and the API', async () => {
    const w = await servers.create({ ADMIN_TOKEN: token }, D);
    await importFile(w.store, writeDataset(w.dir), new Date());
    const admin = await servers.openApi(w);
    const before = servers.smtp.messages.length;
    const scan = await runScan(admin.runtime.deps, { trigger: 'operator', asOf: D });
    expect(scan.enqueued).toBe(2);
    await waitUntilIdle(admin.runtime.queues.actions);

    const job = await admin.runtime.queues.actions.getJob(buildActionJobId('remind-before', reminded.id, reminded.anniversary));
    expect(await job?.getState()).toBe('completed');
    expect(w.store.connection.prepare('SELECT subscription_id, kind, status FROM notices ORDER BY subscription_id').all()).toEqual([
      { subscription_id: reminded.id, kind: 'remind-before', status: 'sent' },
      { subscription_id: invoiced.id, kind: 'invoice-pending', status: 'sent' },
    ]);
    const messages = (await servers.smtp.waitForMessages(before + 2)).slice(before);
    const expected = [
      buildMessageId({ kind: 'remind-before', subscriptionId: reminded.id, anniversary: reminded.anniversary }, w.config.mailDomain),
      buildMessageId({ kind: 'invoice-pending', subscriptionId: invoiced.id, anniversary: invoiced.anniversary, isReactivation: false }, w.config.mailDomain),
    ];
    expect(messages.map((m) => m.messageId).sort()).toEqual(expected.sort());
    expect(messages.map((m) => m.headers.get('x-lifecycle-subscription')).sort()).toEqual([reminded.id, invoiced.id]);

    const shown = await admin.call('GET', `/api/subscriptions/${reminded.id}`);
    expect(shown.status).toBe(200);
    expect(shown.json.id).toBe(reminded.id);
    const tooLong = await admin.call('GET', `/api/subscriptions/${widest('A', idMaxLength + 1)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.error).toMatch(/params\/id/);
    expect((await admin.call('GET', `/api/subscriptions/${encodeURIComponent('S/1')}`)).status).toBe(400);

    // A delivery's job id holds the Message-ID: the jobs route takes it (no job by that id was made: 404, not 414).
    const deliverJobId = buildDeliverJobId(expected[1]!);
    expect(deliverJobId.length).toBeGreaterThan(200);
    const retried = await admin.call('POST', `/api/jobs/${encodeURIComponent(deliverJobId)}/retry`);
    expect(retried.json.error).toBe(`no job "${deliverJobId}"`);
    expect(retried.status).toBe(404);

    const ticket = (length: number) => 'T'.repeat(length);
    expect((await admin.call('POST', `/api/subscriptions/${reminded.id}/cancel`, { body: { ticket: ticket(textLimits.ticket + 1) } })).status).toBe(400);
    expect((await admin.call('POST', `/api/subscriptions/${reminded.id}/cancel`, { body: { ticket: 'T-1\u001b[2J' } })).status).toBe(400);
    const cancelled = await admin.call('POST', `/api/subscriptions/${reminded.id}/cancel`, { body: { ticket: ticket(textLimits.ticket) } });
    expect(cancelled.status).toBe(200);

    const refused = await importFile(w.store, writeDataset(w.dir, [widest('A', idMaxLength + 1), 'B-1']), new Date()).catch((error: InputError) => error);
    expect((refused as InputError).problems).toEqual([`subscriptions[0].id: ${idMaxLength + 1} characters, at most ${idMaxLength}`]);
  });

  it('import → job → outbox file, for a reminder and an invoice: no notice stays pending', async () => {
    const w = await servers.create(outboxMail, D);
    await importFile(w.store, writeDataset(w.dir), new Date());
    const runtime = await w.startRuntime();
    await runScan(runtime.deps, { trigger: 'operator', asOf: D });
    await waitUntilIdle(runtime.queues.actions);
    expect(w.store.connection.prepare("SELECT COUNT(*) FROM notices WHERE status = 'sent'").pluck().get()).toBe(2);
    const files = readdirSync(path.join(w.dir, 'outbox')).sort();
    expect(files).toEqual(
      [
        buildOutboxFileName({ kind: 'invoice-pending', subscriptionId: invoiced.id, anniversary: invoiced.anniversary, isReactivation: false }),
        buildOutboxFileName({ kind: 'remind-before', subscriptionId: reminded.id, anniversary: reminded.anniversary }),
      ].sort(),
    );
    for (const file of files) expect(Buffer.byteLength(file)).toBeLessThanOrEqual(255);
  });
});
