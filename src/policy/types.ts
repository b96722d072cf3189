import type { IsoDate } from './dates.js';

export const offers = ['action_pack', 'competency'] as const;
export type Offer = (typeof offers)[number];

export const competencyLevels = ['silver', 'gold'] as const;
export type CompetencyLevel = (typeof competencyLevels)[number];

/** R10: the roles that may buy or renew, and so receive notices. */
export const purchasingRoles = ['global_admin', 'user_admin', 'mpn_partner_admin', 'admin_agent', 'sales_agent'] as const;
export const roles = [...purchasingRoles, 'other'] as const;
export type Role = (typeof roles)[number];

export const locales = ['en', 'zh-TW'] as const;
export type Locale = (typeof locales)[number];

export type Payment =
  | { method: 'credit_card'; token: string }
  | { method: 'bank_transfer'; contactName: string; phone: string; email: string };

export interface BillTo {
  line1: string;
  line2?: string;
  city: string;
  region?: string;
  postalCode?: string;
  country: string;
}

export interface Contact {
  name: string;
  email: string;
  role: Role;
}

export interface Partner {
  id: string;
  name: string;
  locale: Locale;
  isMigratedToPartnerCenter: boolean;
  billTo: BillTo | null;
  contacts: Contact[];
}

/** Stored lifecycle status; the status shown on a day is derived by `statusOn`. */
export type StoredStatus = 'active' | 'lapsed' | 'cancelled';

export interface Subscription {
  id: string;
  partnerId: string;
  offer: Offer;
  competency: { area: string; level: CompetencyLevel } | null;
  purchasedOn: IsoDate;
  /** The current cycle's anniversary A (its expiry date). */
  anniversaryOn: IsoDate;
  isAutoRenew: boolean;
  isRequirementsMet: boolean;
  payment: Payment | null;
  status: StoredStatus;
  /** Actions already taken (or recorded as skipped) for the current anniversary: a bit set of `actionBits`. */
  doneMask: number;
  cancelledOn: IsoDate | null;
  lapsedOn: IsoDate | null;
  /** A bank-transfer or manual-gateway renewal waiting for its payment (R7). */
  pendingInvoice: string | null;
}

export const lifecycleActions = ['remind-before', 'auto-renew', 'remind-after', 'lapse'] as const;
export type LifecycleAction = (typeof lifecycleActions)[number];
