import type { Subscription } from '../policy/types.js';

/** Yearly fees in minor units (cents). */
export const fees = {
  action_pack: { amountMinor: 47_500, currency: 'USD' },
  silver: { amountMinor: 167_000, currency: 'USD' },
  gold: { amountMinor: 473_000, currency: 'USD' },
} as const;

export function findFee(subscription: Subscription): { amountMinor: number; currency: string } {
  if (subscription.offer === 'action_pack') return fees.action_pack;
  return subscription.competency?.level === 'gold' ? fees.gold : fees.silver;
}
