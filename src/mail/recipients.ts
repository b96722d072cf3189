import type { Recipient } from './types.js';

/** R10: the roles that may buy or renew, and so receive notices. */
const noticeRoles: ReadonlySet<string> = new Set([
  'global_admin',
  'user_admin',
  'mpn_partner_admin',
  'admin_agent',
  'sales_agent',
]);

/**
 * The contacts a notice goes to (R10), each address once. An empty result means the notice is
 * undeliverable: the caller records it for operators rather than dropping it.
 */
export function selectRecipients(contacts: readonly { name: string; email: string; role: string }[]): Recipient[] {
  const seen = new Set<string>();
  const recipients: Recipient[] = [];
  for (const contact of contacts) {
    if (!noticeRoles.has(contact.role)) continue;
    const email = contact.email.trim();
    const key = email.toLowerCase();
    if (email === '' || seen.has(key)) continue;
    seen.add(key);
    recipients.push({ name: contact.name, email });
  }
  return recipients;
}
