import { describe, expect, it } from 'vitest';
import type { PartnerImport, SubscriptionImport } from '../../src/import/import-rows.js';
import { copyField, copyStatements, createCopyTextEncoder } from '../../src/store/import-copy-text.js';

const at = '2019-09-01T12:00:00.000Z';
const partner = (id: string, name: string, contacts: string[]): PartnerImport => [id, name, 'en', 1, '1 Main St', null, 'Seattle', null, '98101', 'US', 1, contacts];
const subscription = (id: string, partnerId: string, token: string | null): SubscriptionImport => [
  id, partnerId, 'action_pack', null, null, '2018-09-01', '2019-09-01', 1, 1, token === null ? null : 'credit_card', token, null, null, null, '2019-08-17',
];

describe('COPY text of an import', () => {
  it('escapes what COPY gives a meaning (backslash, tab, line breaks) and writes NULL as \\N', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField('plain')).toBe('plain');
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyField(7)).toBe('7');
  });

  it('writes rows straight into empty tables with their stamps, a new cycle for each subscription, one line per row', () => {
    const encode = createCopyTextEncoder({ isFreshPartners: true, isFreshSubscriptions: true, at });
    const text = encode([partner('P-1', 'Back\\slash', ['Ann', 'ann@p.example', 'global_admin', 'Bob', 'bob@p.example', 'other'])], [subscription('S-1', 'P-1', 'tok_1')]);
    expect(text.partners).toBe(`P-1\tBack\\\\slash\ten\t1\t1 Main St\t\\N\tSeattle\t\\N\t98101\tUS\t1\t${at}\t${at}\n`);
    expect(text.contacts).toBe('P-1\tAnn\tann@p.example\tglobal_admin\nP-1\tBob\tbob@p.example\tother\n');
    expect(text.subscriptions).toBe(
      `S-1\tP-1\taction_pack\t\\N\t\\N\t2018-09-01\t2019-09-01\t1\t1\tcredit_card\ttok_1\t\\N\t\\N\t\\N\t2019-08-17\t2019-09-01\tactive\t0\t${at}\t${at}\n`,
    );
    // Each line has as many fields as its COPY statement names columns.
    const statements = copyStatements({ isFreshPartners: true, isFreshSubscriptions: true, at });
    for (const table of ['partners', 'contacts', 'subscriptions'] as const) {
      const columns = /\(([^)]*)\)/.exec(statements[table])![1]!.split(', ').length;
      for (const line of text[table].trimEnd().split('\n')) expect(line.split('\t')).toHaveLength(columns);
    }
  });

  it('numbers staged rows in file order across batches, and writes nothing for an empty batch', () => {
    const encode = createCopyTextEncoder({ isFreshPartners: false, isFreshSubscriptions: false, at });
    const first = encode([partner('P-1', 'One', ['Ann', 'ann@p.example', 'other'])], [subscription('S-1', 'P-1', null)]);
    const second = encode([partner('P-2', 'Two', ['Cy', 'cy@p.example', 'other', 'Di', 'di@p.example', 'other'])], [subscription('S-2', 'P-2', null), subscription('S-3', 'P-2', null)]);
    expect(first.partners.startsWith('1\tP-1\t')).toBe(true);
    expect(second.partners.startsWith('2\tP-2\t')).toBe(true);
    expect(second.contacts.split('\n').filter(Boolean).map((line) => line.split('\t').slice(0, 2))).toEqual([['2', 'P-2'], ['3', 'P-2']]);
    expect(second.subscriptions.split('\n').filter(Boolean).map((line) => line.split('\t').slice(0, 2))).toEqual([['2', 'S-2'], ['3', 'S-3']]);
    expect(encode([], [])).toEqual({ partners: '', contacts: '', subscriptions: '' });
  });
});
