import { beforeAll, describe, expect, it } from 'vitest';
import { buildNoticeData } from '../../src/jobs/notices.js';
import { createNoticeRenderer, type NoticeRenderer } from '../../src/mail/render.js';
import { buildCompetency, buildPartner, buildSubscription } from './builders.js';

const links = { renewUrl: 'https://example.com/renew', supportUrl: 'https://example.com/support' };
let renderer: NoticeRenderer;

beforeAll(async () => {
  renderer = await createNoticeRenderer();
});

describe('buildNoticeData', () => {
  it.each([
    ['2019-09-24', 7, '7 days left'], // A + 23: the seed's "7 days left"
    ['2019-09-28', 3, '3 days left'], // caught up late: the days really left
    ['2019-09-30', 1, '1 day left'],
    ['2019-10-01', 1, '1 day left'], // the last day of the window
  ])('remind-after written on %s says %i days left', (writtenOn, daysLeft, subject) => {
    const data = buildNoticeData(links, 'remind-after', buildSubscription(), buildPartner({ locale: 'en' }), { writtenOn });
    expect(data.daysLeft).toBe(daysLeft);
    expect(renderer.render(data).subject).toContain(subject);
  });

  it('gives the cycle dates of the anniversary (seed 000: window 2019-09-02 … 2019-10-01)', () => {
    const data = buildNoticeData(links, 'remind-before', buildSubscription({ isAutoRenew: true }), buildPartner());
    expect(data).toMatchObject({ anniversary: '2019-09-01', windowOpens: '2019-09-02', windowCloses: '2019-10-01', lapsesOn: '2019-10-02', isAutoRenewing: true });
  });

  it('carries the covid-19-2020 exception, and says when the partner has not moved yet', () => {
    const eligible = buildNoticeData(links, 'remind-before', buildCompetency(), buildPartner({ isMigratedToPartnerCenter: true }));
    const notMoved = buildNoticeData(links, 'remind-before', buildCompetency(), buildPartner({ isMigratedToPartnerCenter: false }));
    expect(eligible.exception).toMatchObject({ id: 'covid-19-2020', isEligible: true, reactivationDeadline: '2020-06-30' });
    expect(notMoved.exception).toMatchObject({ isEligible: false });
    expect(buildNoticeData(links, 'remind-before', buildSubscription(), buildPartner()).exception).toBeUndefined();
  });
});
