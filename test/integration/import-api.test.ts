import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InputError } from '../../src/errors.js';
import { importFile } from '../../src/import/import-file.js';
import { maxImportBytes } from '../../src/ops/routes/imports.js';
import { createToken } from '../../src/store/tokens.js';
import { useAdminWorlds, type AdminHarness } from '../helpers/admin.js';
import { repoRoot } from '../helpers/cli.js';
import type { World } from '../helpers/world.js';

const D = '2019-09-30';
const token = 'admin-token-for-tests-0123456789';

const servers = useAdminWorlds();

async function start(): Promise<{ w: World; api: AdminHarness }> {
  return servers.start({ ADMIN_TOKEN: token }, D);
}

/** Every row of the tables an import writes: equal dumps mean nothing changed. */
function dump(w: World) {
  return Object.fromEntries(
    ['partners', 'contacts', 'subscriptions', 'audit_events'].map((table) => [table, w.store.connection.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()]),
  );
}

function post(api: AdminHarness, body: string | Buffer, contentType: string, bearer = token) {
  return fetch(`${api.baseUrl}/api/imports`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': contentType }, body })
    .then(async (response) => ({ status: response.status, json: (await response.json()) as any }));
}

const partner = { id: 'P-9', name: 'Api Partner', locale: 'en', migratedToPartnerCenter: true, contacts: [{ name: 'Ann Api', email: 'ann@api.example', role: 'global_admin' }] };
const subscription = { partnerId: 'P-9', offer: 'action_pack', purchasedOn: '2018-10-01', autoRenew: false };

describe('data in over the admin API', () => {
  it('refuses a bad document with the problems the CLI import lists, and changes nothing', async () => {
    const { w, api } = await start();
    const bad = JSON.stringify({
      partners: [partner],
      subscriptions: [
        { ...subscription, id: 'S-bad-1', purchasedOn: '2019-02-30' },
        { ...subscription, id: 'S-bad-2', partnerId: 'P-nowhere', offer: 'platinum' },
      ],
    });
    const file = path.join(w.dir, 'bad.json');
    writeFileSync(file, bad);
    const cliError = (await importFile(w.store, file, new Date()).catch((error: unknown) => error)) as InputError;
    expect(cliError.problems.length).toBeGreaterThanOrEqual(2);
    const before = dump(w);

    const reply = await post(api, bad, 'application/json');
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: cliError.message.replace(file, 'request body'), problems: cliError.problems });
    expect(reply.json.problems.join('\n')).not.toContain(w.dir);
    expect(dump(w)).toEqual(before);
  });

  it('PUT creates a partner and a subscription; the same PUT again answers unchanged and writes nothing', async () => {
    const { w, api } = await start();
    expect((await api.call('PUT', '/api/partners/P-9', { body: partner })).json).toEqual({ id: 'P-9', outcome: 'created' });
    const created = await api.call('PUT', '/api/subscriptions/S-9', { body: subscription });
    expect(created).toMatchObject({ status: 200, json: { id: 'S-9', outcome: 'created' } });
    expect(w.store.connection.prepare('SELECT id, partner_id AS partner, offer FROM subscriptions').all()).toEqual([{ id: 'S-9', partner: 'P-9', offer: 'action_pack' }]);
    const audit = w.store.connection.prepare("SELECT actor, actor_ref AS ref FROM audit_events WHERE actor = 'import'").all();
    expect(audit).toEqual([
      { actor: 'import', ref: `api:ADMIN_TOKEN` },
      { actor: 'import', ref: `api:ADMIN_TOKEN` },
    ]);

    const before = dump(w);
    expect((await api.call('PUT', '/api/subscriptions/S-9', { body: { ...subscription, id: 'S-9' } })).json).toEqual({ id: 'S-9', outcome: 'unchanged' });
    expect((await api.call('PUT', '/api/partners/P-9', { body: partner })).json).toEqual({ id: 'P-9', outcome: 'unchanged' });
    expect(dump(w)).toEqual(before);

    // A named operator token is named in the audit trail of a change.
    const operator = (await createToken(w.store, 'billing', 'operator', new Date())).token;
    const updated = await api.call('PUT', '/api/subscriptions/S-9', { body: { ...subscription, autoRenew: true }, token: operator });
    expect(updated.json).toEqual({ id: 'S-9', outcome: 'updated' });
    expect(w.store.connection.prepare("SELECT actor_ref AS ref FROM audit_events WHERE actor = 'import' ORDER BY id DESC LIMIT 1").get()).toEqual({ ref: 'api:token:billing' });
  });

  it('PUT refuses a body whose id is not the path id, and a bad record with the import problem, changing nothing', async () => {
    const { w, api } = await start();
    const before = dump(w);
    const mismatch = await api.call('PUT', '/api/partners/P-9', { body: { ...partner, id: 'P-8' } });
    expect(mismatch).toMatchObject({ status: 400, json: { error: 'request body: id "P-8" is not the id in the path ("P-9")' } });
    const bad = await api.call('PUT', '/api/subscriptions/S-9', { body: { ...subscription, purchasedOn: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.json.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^subscriptions\[0\]\.purchasedOn: /)]));
    expect(dump(w)).toEqual(before);
  });

  it('imports a CSV body, all of it, and the same body again changes nothing', async () => {
    const { w, api } = await start();
    const csv = readFileSync(path.join(repoRoot, 'examples/subscriptions.csv'));
    const first = await post(api, csv, 'text/csv');
    expect(first.status).toBe(200);
    expect(first.json.format).toBe('csv');
    const rows = csv.toString('utf8').trim().split('\n').length - 1;
    expect(first.json.subscriptions.created).toBe(rows);
    expect((w.store.connection.prepare('SELECT count(*) AS n FROM subscriptions').get() as { n: number }).n).toBe(rows);
    const before = dump(w);
    const again = await post(api, csv, 'text/csv');
    expect(again.json.subscriptions).toEqual({ created: 0, updated: 0, unchanged: rows });
    expect(dump(w)).toEqual(before);
  });

  it('answers 413 past the size limit, 415 for another content type, and 403 to a viewer token, writing nothing', async () => {
    const { w, api } = await start();
    const before = dump(w);
    const oversize = Buffer.alloc(maxImportBytes + 1, 0x20);
    const tooLarge = await post(api, oversize, 'application/json');
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json.error).toContain('64 MiB');
    expect((await post(api, 'a,b\n', 'text/plain')).status).toBe(415);
    const viewer = (await createToken(w.store, 'ops-viewer', 'viewer', new Date())).token;
    expect((await post(api, JSON.stringify({ partners: [partner] }), 'application/json', viewer)).status).toBe(403);
    expect((await api.call('PUT', '/api/partners/P-9', { body: partner, token: viewer })).status).toBe(403);
    expect(dump(w)).toEqual(before);
  });
});
