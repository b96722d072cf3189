import { flattenLine } from './format.js';
import type { NoticeData } from './types.js';

type NoticeIdentity = Pick<NoticeData, 'kind' | 'subscriptionId' | 'anniversary' | 'isReactivation'>;

/**
 * `{kind}.{subscription}.{A}`. A reactivation's invoice can follow a renewal invoice that the lapse
 * voided in the same cycle: its `invoice-pending` gets `.reactivation`, or the outbox would take it
 * for the first one and never send it.
 */
function buildNoticeKey(data: NoticeIdentity): string {
  const key = `${encodeIdPart(data.kind)}.${encodeIdPart(data.subscriptionId)}.${encodeIdPart(data.anniversary)}`;
  return data.kind === 'invoice-pending' && data.isReactivation === true ? `${key}.reactivation` : key;
}

const safeCharacter = /[A-Za-z0-9_-]/;

/**
 * Makes an id usable in a Message-ID local part and a file name: letters, digits, `_` and `-`
 * stay, every other byte becomes `=XX`. Distinct ids stay distinct, since `=` itself is encoded.
 */
export function encodeIdPart(value: string): string {
  let out = '';
  for (const char of value) {
    if (safeCharacter.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `<{kind}.{subscription}.{A}@{domain}>`: stable, so a resent notice is recognisable as the same message. */
export function buildMessageId(data: NoticeIdentity, domain: string): string {
  return `<${buildNoticeKey(data)}@${domain}>`;
}

/** The headers SPEC §3 puts on every notice, Message-ID aside. */
export function buildNoticeHeaders(data: NoticeIdentity): Record<string, string> {
  return {
    'X-Lifecycle-Notice': data.kind,
    'X-Lifecycle-Subscription': flattenLine(data.subscriptionId),
    'X-Lifecycle-Anniversary': flattenLine(data.anniversary),
    'Auto-Submitted': 'auto-generated',
  };
}

/** `{kind}.{subscription}.{A}.eml`, safe on any file system; a resend overwrites the same file. */
export function buildOutboxFileName(data: NoticeIdentity): string {
  return `${buildNoticeKey(data)}.eml`;
}
