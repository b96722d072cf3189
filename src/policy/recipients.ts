import { purchasingRoles, type Contact } from './types.js';

const noticeRoles: ReadonlySet<string> = new Set(purchasingRoles);

/** R10: notices go to the contacts holding a role that may buy or renew; none means undeliverable. */
export function selectRecipients(contacts: readonly Pick<Contact, 'name' | 'email' | 'role'>[]): { name: string; email: string }[] {
  const seen = new Set<string>();
  const recipients: { name: string; email: string }[] = [];
  for (const contact of contacts) {
    const key = contact.email.toLowerCase();
    if (!noticeRoles.has(contact.role) || seen.has(key)) continue;
    seen.add(key);
    recipients.push({ name: contact.name, email: contact.email });
  }
  return recipients;
}
