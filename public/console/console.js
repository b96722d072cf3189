// The operator console: vanilla JS against the admin API, no build step. Everything shown is
// put in the page with textContent, never innerHTML: partner-supplied text stays text.
// Authentication is the session cookie (HttpOnly: no script here ever holds the token); every
// POST carries the session's CSRF token.
'use strict';

const states = ['waiting', 'active', 'delayed', 'failed', 'completed'];
const pollMs = 30_000;

const $ = (id) => document.getElementById(id);

class UnauthorizedError extends Error {}

class ApiError extends Error {
  constructor(status, payload) {
    super(payload.error ?? `HTTP ${status}`);
    this.status = status;
    this.rule = payload.rule ?? null;
  }
}

// The session (GET /api/session): name, role, CSRF token, expiry.
let session = null;
const isViewer = () => session?.role === 'viewer';

async function callApi(path, options = {}) {
  const headers = { ...options.headers };
  const method = options.method ?? 'GET';
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && session?.csrf) headers['x-csrf-token'] = session.csrf;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const payload = await response.json().catch(() => ({}));
  if (response.status === 401) throw new UnauthorizedError(payload.error ?? 'unauthorized');
  if (response.status === 403) throw new ApiError(403, { error: `not allowed: ${payload.error ?? 'forbidden'}` });
  if (!response.ok) throw new ApiError(response.status, payload);
  return payload;
}

// ---------------------------------------------------------------------------------------------
// Codes in words: the code itself stays on hover (title) and in the accessible description.

const codeWords = {
  'remind-before': 'reminder before the anniversary',
  'auto-renew': 'automatic renewal',
  'remind-after': 'reminder after the anniversary',
  lapse: 'lapse',
  sent: 'sent',
  undeliverable: 'undeliverable (no purchasing contact)',
  renewed: 'renewed',
  reactivated: 'reactivated',
  cancelled: 'cancelled',
  lapsed: 'lapsed',
  active: 'active',
  pending: 'pending',
  'pending-payment': 'waiting for payment',
  paid: 'paid',
  void: 'void',
  failed: 'failed',
  done: 'done',
  running: 'running',
  'skipped:missed': 'skipped: its day passed while nothing ran',
  'skipped:already-done': 'skipped: done already',
  'skipped:not-yet-due': 'skipped: not due yet',
  'skipped:renewed': 'skipped: renewed meanwhile',
  'skipped:window-passed': 'skipped: the renewal window had closed',
  'skipped:unknown-partner': 'skipped: unknown partner',
  'skipped:unknown-subscription': 'skipped: unknown subscription',
  credit_card: 'credit card',
  bank_transfer: 'bank transfer',
  action_pack: 'Action Pack',
  competency: 'Competency',
  daily: 'daily',
  operator: 'by an operator',
  startup: 'at start-up',
  simulate: 'simulation',
  'auto-renew-invoice': 'automatic renewal',
  renewal: 'renewal',
  reactivation: 'reactivation',
};

function inWords(code) {
  if (code === null || code === undefined) return '—';
  if (codeWords[code]) return codeWords[code];
  if (code.startsWith('failed:')) return `failed: ${code.slice(7).replaceAll('_', ' ').replaceAll('-', ' ')}`;
  if (code.startsWith('skipped:')) return `skipped: ${code.slice(8).replaceAll('-', ' ')}`;
  return code.replaceAll('_', ' ');
}

/** A code shown in words; the raw code on hover. */
function codeText(code) {
  const words = inWords(code);
  const span = document.createElement('span');
  span.textContent = words;
  if (code && words !== code) {
    span.title = code;
    span.className = 'code';
  }
  return span;
}

// ---------------------------------------------------------------------------------------------

function showMessage(text, isError = false) {
  const message = $('message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
}

function element(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function createCell(content, label) {
  const cell = document.createElement('td');
  if (label) cell.dataset.label = label;
  if (content instanceof Node) cell.append(content);
  else cell.textContent = content === null || content === undefined ? '—' : String(content);
  return cell;
}

function fillTable(id, rows, emptyText) {
  const table = typeof id === 'string' ? $(id) : id;
  const labels = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
  const body = table.querySelector('tbody');
  body.replaceChildren();
  if (rows.length === 0) {
    const row = document.createElement('tr');
    const cell = createCell(emptyText);
    cell.colSpan = labels.length;
    cell.className = 'empty';
    row.append(cell);
    body.append(row);
    return;
  }
  for (const cells of rows) {
    const row = document.createElement('tr');
    row.append(...cells.map((content, i) => createCell(content, labels[i])));
    body.append(row);
  }
}

function subscriptionLink(id) {
  return element('a', { text: id, attrs: { href: `#/subscription/${encodeURIComponent(id)}` } });
}

function createButton(text, onClick, className = 'small') {
  const button = element('button', { text, className, attrs: { type: 'button' } });
  button.addEventListener('click', () => onClick(button));
  return button;
}

function formatTime(iso) {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '—';
}

function formatMoney(minor, currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Overview

async function loadQueues() {
  const queues = await callApi('/api/queues');
  const counts = $('queue-counts');
  counts.replaceChildren();
  let failed = 0;
  for (const [name, byState] of Object.entries(queues)) {
    failed += byState.failed ?? 0;
    const group = element('a', { className: 'count-group', attrs: { href: `/queues/queue/${encodeURIComponent(name)}` } });
    group.textContent = `${name}: ${states.map((state) => `${state} ${byState[state] ?? 0}`).join(' · ')}`;
    if ((byState.failed ?? 0) > 0) group.classList.add('warn');
    counts.append(group);
  }
  const badge = $('failed-badge');
  badge.hidden = failed === 0;
  badge.textContent = `${failed} failed`;
}

async function loadPlan() {
  const plan = await callApi('/api/plan?limit=200');
  $('plan-range').textContent = `${plan.from} … ${plan.to} · ${plan.next ? 'first ' : ''}${plan.total} action${plan.total === 1 ? '' : 's'}`;
  const rows = [];
  for (const day of plan.days) {
    for (const action of day.actions) {
      const label = day.date === plan.from ? `${day.date} (today)` : day.date;
      rows.push([label, codeText(action.action), subscriptionLink(action.subscription), action.anniversary]);
    }
  }
  fillTable('plan', rows, 'nothing due in the next 30 days');
}

async function loadScans() {
  const [{ scans }, { results }] = await Promise.all([callApi('/api/scans?limit=10'), callApi('/api/scans/results?limit=50')]);
  const redelivered = new Map(results.filter((r) => r.scanId !== null).map((r) => [r.scanId, r.redelivered]));
  fillTable(
    'scans',
    scans.map((scan) => {
      const status = codeText(scan.status);
      if (scan.error) status.append(`: ${scan.error}`);
      return [`#${scan.id}`, scan.asOf, codeText(scan.trigger), status, scan.due, scan.enqueued, scan.missed, redelivered.get(scan.id) ?? '—', formatTime(scan.startedAt)];
    }),
    'no scan yet',
  );
}

async function loadUndeliverable() {
  const { notices } = await callApi('/api/notices/undeliverable');
  fillTable('undeliverable', notices.map((notice) => [subscriptionLink(notice.subscription), notice.partner, codeText(notice.kind), notice.anniversary]), 'none');
}

async function loadFailedEvents() {
  const { events } = await callApi('/api/events?status=failed&limit=50');
  fillTable(
    'failed-events',
    events.map((event) => [
      `#${event.id}`,
      event.type,
      event.data.subscription ? subscriptionLink(event.data.subscription) : '—',
      event.delivery.attempts,
      event.delivery.lastError ?? '',
      isViewer() ? '' : createButton('Redeliver', (button) => redeliverEvent(event.id, button)),
    ]),
    'none',
  );
}

async function redeliverEvent(id, button) {
  button.disabled = true;
  try {
    await callApi('/api/events/redeliver', { method: 'POST', body: { from: Number(id) } });
    showMessage(`event #${id} queued for redelivery`);
    await refreshView();
  } catch (error) {
    button.disabled = false;
    reportError(error);
  }
}

async function lookup(id) {
  const target = $('lookup-result');
  // A failed lookup must not leave the previous answer standing.
  target.replaceChildren(element('p', { className: 'hint', text: `looking up ${id}…` }));
  try {
    const s = await callApi(`/api/subscriptions/${encodeURIComponent(id)}`);
    target.replaceChildren(
      element('p', {}, subscriptionLink(s.id), ` — ${s.summary}`),
    );
  } catch (error) {
    target.replaceChildren(element('p', { className: 'error', text: error.message }));
    if (error instanceof UnauthorizedError) throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions list

const listState = { filters: {}, cursors: [null], page: 0 };

function readFilters() {
  const form = $('filter-form');
  const filters = {};
  for (const [name, value] of new FormData(form)) if (String(value).trim() !== '') filters[name] = String(value).trim();
  return filters;
}

async function loadSubscriptions() {
  const params = new URLSearchParams({ ...listState.filters, limit: '50' });
  const cursor = listState.cursors[listState.page];
  if (cursor) params.set('after', cursor);
  const { subscriptions, next } = await callApi(`/api/subscriptions?${params}`);
  fillTable(
    'subscriptions',
    subscriptions.map((s) => [
      subscriptionLink(s.id),
      s.partner,
      s.offer === 'competency' && s.competency ? `Competency ${s.competency.area} (${s.competency.level})` : codeText(s.offer),
      codeText(s.statusToday),
      s.nextActions.length ? element('span', {}, ...s.nextActions.flatMap((a, i) => (i ? [', ', codeText(a)] : [codeText(a)]))) : '—',
      s.nextDueOn ?? '—',
    ]),
    'no subscription matches',
  );
  listState.cursors[listState.page + 1] = next;
  $('page-next').disabled = !next;
  $('page-first').disabled = listState.page === 0;
  $('page-info').textContent = `page ${listState.page + 1}${subscriptions.length ? `: ${subscriptions[0].id} … ${subscriptions[subscriptions.length - 1].id}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// One subscription

function describeRefusal(error) {
  const box = element('div', { className: 'refusal', attrs: { role: 'alert' } });
  box.append(element('strong', { text: error.rule ? `Refused by rule ${error.rule}` : error.status === 409 ? 'Refused' : 'Failed' }), element('span', { text: `: ${error.message}` }));
  return box;
}

async function act(id, label, path, body, outcomeBox, buttons) {
  for (const button of buttons) button.disabled = true;
  outcomeBox.replaceChildren(element('p', { className: 'hint', text: `${label}…` }));
  try {
    const result = await callApi(path, { method: 'POST', body });
    const words = result.message ?? `${id}: ${inWords(result.outcome)}`;
    await showSubscription(id);
    const box = $('action-outcome');
    box?.replaceChildren(element('div', { className: 'success', attrs: { role: 'status' }, text: `${label}: ${words}${result.invoice ? ` (invoice ${result.invoice})` : ''}` }));
    showMessage(`${label}: done`);
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    for (const button of buttons) button.disabled = false;
    outcomeBox.replaceChildren(describeRefusal(error));
  }
}

function buildActions(s) {
  const outcome = element('div', { attrs: { id: 'action-outcome', 'aria-live': 'polite' } });
  if (isViewer()) return [element('p', { className: 'hint', text: 'Read only: your token has the viewer role.' }), outcome];
  const base = `/api/subscriptions/${encodeURIComponent(s.id)}`;
  const buttons = [];
  const run = (label, path, body) => act(s.id, label, path, body, outcome, buttons).catch(reportError);
  buttons.push(createButton('Renew', () => run('Renew', `${base}/renew`, {}), ''));
  buttons.push(createButton('Reactivate', () => run('Reactivate', `${base}/reactivate`, {}), ''));
  if (s.pendingInvoice) buttons.push(createButton(`Confirm payment of ${s.pendingInvoice}`, () => run('Confirm payment', `/api/invoices/${encodeURIComponent(s.pendingInvoice)}/confirm`, {}), ''));
  const cancelForm = element('form', { className: 'inline cancel-form', attrs: { id: 'cancel-form' } });
  const ticket = element('input', { attrs: { id: 'cancel-ticket', name: 'ticket', required: '', placeholder: 'e.g. SR-1234', autocomplete: 'off' } });
  const cancelButton = element('button', { text: 'Cancel subscription', className: 'danger', attrs: { type: 'submit' } });
  cancelForm.append(element('label', { text: 'Support ticket', attrs: { for: 'cancel-ticket' } }), ticket, cancelButton);
  cancelForm.addEventListener('submit', (event) => {
    event.preventDefault();
    run('Cancel', `${base}/cancel`, { ticket: ticket.value.trim() });
  });
  buttons.push(cancelButton);
  return [element('div', { className: 'button-row' }, ...buttons.filter((b) => b !== cancelButton)), cancelForm, outcome];
}

function buildTimeline(s) {
  const events = [
    ...s.actions.map((a) => ({ when: a.effectiveOn, what: [codeText(a.action), ': ', codeText(a.outcome)], detail: a.detail ?? `cycle ${a.anniversary}` })),
    ...s.audit.map((a) => ({ when: a.effectiveOn ?? a.at.slice(0, 10), what: [a.event], detail: `by ${a.actor}${a.actorRef ? ` ${a.actorRef}` : ''}` })),
  ];
  events.sort((a, b) => (a.when < b.when ? -1 : a.when > b.when ? 1 : 0));
  const list = element('ol', { className: 'timeline' });
  for (const event of events) {
    list.append(element('li', {}, element('time', { text: event.when }), element('strong', {}, ...event.what), element('span', { text: typeof event.detail === 'string' ? event.detail : JSON.stringify(event.detail) })));
  }
  if (!events.length) list.append(element('li', { text: 'nothing happened yet' }));
  return list;
}

function openNotice(notice) {
  const dialog = $('notice-dialog');
  $('notice-title').textContent = `${inWords(notice.kind)}, cycle ${notice.anniversary}`;
  $('notice-frame').src = `/api/notices/${encodeURIComponent(notice.messageId)}/email`;
  dialog.showModal();
}

function buildNotices(s) {
  const rows = s.notices.map((n) => [
    codeText(n.kind),
    n.anniversary,
    codeText(n.status),
    n.recipients.join(', ') || '(no recipient)',
    createButton('View', () => openNotice(n)),
  ]);
  return buildTable('notices', ['Notice', 'Cycle', 'Status', 'To', 'Email'], rows, 'no notice yet');
}

function buildInvoices(s) {
  const rows = s.invoices.map((i) => [
    i.number,
    codeText(i.purpose),
    formatMoney(i.amountMinor, i.currency),
    codeText(i.method),
    codeText(i.status),
    i.issuedOn,
    element('a', { text: 'Download', attrs: { href: `/api/invoices/${encodeURIComponent(i.number)}?format=text`, download: `${i.number}.txt`, 'aria-label': `Download invoice ${i.number}` } }),
  ]);
  return buildTable('invoices', ['Invoice', 'Purpose', 'Amount', 'Method', 'Status', 'Issued', 'File'], rows, 'no invoice yet');
}

function buildTable(id, headings, rows, emptyText) {
  const table = element('table', { attrs: { id: `s-${id}` } });
  table.append(element('thead', {}, element('tr', {}, ...headings.map((h) => element('th', { text: h, attrs: { scope: 'col' } })))), element('tbody'));
  const wrap = element('div', { className: 'table-wrap', attrs: { tabindex: '0', role: 'region', 'aria-label': id } }, table);
  fillTable(table, rows, emptyText);
  return wrap;
}

async function showSubscription(id) {
  const target = $('subscription');
  let s;
  try {
    s = await callApi(`/api/subscriptions/${encodeURIComponent(id)}`);
  } catch (error) {
    target.replaceChildren(element('h2', { text: id }), describeRefusal(error));
    if (error instanceof UnauthorizedError) throw error;
    return;
  }
  const facts = [
    ['Offer', s.offer === 'action_pack' ? 'Action Pack' : `Competency ${s.competency?.area} (${s.competency?.level})`],
    ['Partner', s.partner.name ? `${s.partner.name} (${s.partner.id})` : s.partner.id],
    ['Status', s.summary],
    ['Purchased', s.purchasedOn],
    ['Anniversary', s.anniversary],
    ...(s.benefitsEndOn
      ? [['Benefits end', s.benefitsEndOn], ['Cancelled', `${s.cancelledOn ?? '—'}${s.cancelTicket ? ` (ticket ${s.cancelTicket})` : ''}`]]
      : [
          ['Reminder before', s.remindBeforeOn],
          ['Renewal window', `${s.windowOpens} … ${s.windowCloses}`],
          ['Reminder after', s.remindAfterOn],
          ['Lapses on', s.lapsedOn ? `lapsed on ${s.lapsedOn}` : s.lapsesOn],
        ]),
    ['Auto-renew', s.autoRenew ? `on (${inWords(s.paymentMethod ?? 'no payment method')})` : 'off'],
    ['Requirements met', s.requirementsMet ? 'yes' : 'no'],
    ['Pending invoice', s.pendingInvoice ? `${s.pendingInvoice}${s.payBy ? `, pay by ${s.payBy}` : ''}` : 'none'],
    ['Due today', s.dueOnAsOf.length ? s.dueOnAsOf.map(inWords).join(', ') : 'nothing'],
    ['Next due', s.nextDueOn ?? 'nothing pending'],
  ];
  const summary = element('dl');
  for (const [term, value] of facts) summary.append(element('dt', { text: term }), element('dd', { text: value ?? '—' }));
  const exceptions = element('ul', { className: 'exceptions' });
  for (const exception of s.exceptions) exceptions.append(element('li', { text: [
    exception.id,
    exception.isEligible ? null : 'not eligible yet (partner not migrated)',
    exception.requirementsWaivedUntil ? `requirements waived until ${exception.requirementsWaivedUntil}` : null,
    exception.reactivationDeadline ? `may be reactivated until ${exception.reactivationDeadline}` : null,
  ].filter(Boolean).join('; ') }));
  if (!s.exceptions.length) exceptions.append(element('li', { className: 'hint', text: 'none' }));
  target.replaceChildren(
    element('h2', { text: s.id, attrs: { id: 'subscription-title' } }),
    element('div', { className: 'detail-grid' },
      element('div', {}, summary, element('h3', { text: 'Actions' }), ...buildActions(s)),
      element('div', {}, element('h3', { text: 'Exceptions' }), exceptions, element('h3', { text: 'Timeline' }), buildTimeline(s)),
    ),
    element('h3', { text: 'Notices' }),
    buildNotices(s),
    element('h3', { text: 'Invoices' }),
    buildInvoices(s),
  );
}

// ---------------------------------------------------------------------------------------------
// Forecast (uPlot, served by the daemon)

const charts = [];
const palette = { 'remind-before': '#1f5fbf', 'auto-renew': '#2e7d32', 'remind-after': '#b26a00', lapse: '#b3261e' };

function chartWidth(node) {
  return Math.max(260, node.clientWidth || node.parentElement.clientWidth - 8);
}

/** `series[i].bar`: bar options (uPlot.paths.bars), else a line. */
function drawChart(id, data, series) {
  const node = $(id);
  node.replaceChildren();
  if (typeof uPlot === 'undefined') {
    node.textContent = 'charts unavailable';
    return;
  }
  const opts = {
    width: chartWidth(node),
    height: 220,
    series: [
      {},
      ...series.map(({ bar, ...s }) => ({
        ...s,
        points: { show: false },
        ...(bar ? { paths: uPlot.paths.bars(bar), fill: s.stroke, width: 0 } : { width: 2 }),
      })),
    ],
    axes: [{}, { size: 60 }],
    scales: { x: { time: true } },
    legend: { live: false },
  };
  charts.push({ node, plot: new uPlot(opts, data, node) });
}

async function loadForecast() {
  // The first forecast of the day reads a third of the table: seconds at a million subscriptions.
  if (!charts.length) $('forecast-note').textContent = 'computing the forecast…';
  const f = await callApi('/api/forecast');
  $('forecast-range').textContent = `${f.from} … ${f.to} · ${f.subscriptions.toLocaleString('en')} subscriptions read · computed ${formatTime(f.computedAt)}`;
  $('forecast-note').textContent = f.note;
  const toTime = (date) => Date.parse(`${date}T12:00:00Z`) / 1000;
  for (const chart of charts.splice(0)) chart.plot.destroy();
  // Stacked: each kind's bar is the sum of it and the kinds before it, drawn tallest first.
  const kinds = Object.keys(palette);
  const stacked = kinds.map((_, k) => f.days.map((d) => kinds.slice(0, k + 1).reduce((sum, kind) => sum + (d.actions[kind] ?? 0), 0)));
  const order = kinds.map((_, k) => kinds.length - 1 - k);
  drawChart(
    'chart-actions',
    [f.days.map((d) => toTime(d.date)), ...order.map((k) => stacked[k])],
    order.map((k) => ({ label: inWords(kinds[k]), stroke: palette[kinds[k]], bar: { size: [0.8, 20] } })),
  );
  const weekMiddle = (w) => toTime(w.from) + 3.5 * 86400;
  drawChart(
    'chart-weeks',
    [f.weeks.map(weekMiddle), f.weeks.map((w) => w.renewals), f.weeks.map((w) => w.lapses)],
    [
      { label: 'renewals', stroke: palette['auto-renew'], bar: { size: [0.4, 30], align: -1 } },
      { label: 'lapses', stroke: palette.lapse, bar: { size: [0.4, 30], align: 1 } },
    ],
  );
  const currencies = [...new Set(f.days.flatMap((d) => Object.keys(d.revenueMinor)))];
  const currency = currencies[0] ?? 'USD';
  let total = 0;
  const cumulative = f.days.map((d) => (total += (d.revenueMinor[currency] ?? 0) / 100));
  drawChart('chart-revenue', [f.days.map((d) => toTime(d.date)), cumulative], [{ label: `revenue (${currency})`, stroke: '#2e7d32' }]);
  const weekRevenue = f.weeks.map((w, i) => f.days.slice(i * 7, i * 7 + 7).reduce((sum, d) => sum + (d.revenueMinor[currency] ?? 0), 0));
  fillTable('forecast-weeks', f.weeks.map((w, i) => [w.from, w.renewals, w.lapses, formatMoney(weekRevenue[i], currency)]), 'nothing planned');
}

window.addEventListener('resize', () => {
  for (const chart of charts) chart.plot.setSize({ width: chartWidth(chart.node), height: 220 });
});

// ---------------------------------------------------------------------------------------------
// Views and refresh

function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, '');
  if (hash.startsWith('subscription/')) return { view: 'subscription', id: decodeURIComponent(hash.slice('subscription/'.length)) };
  if (hash === 'subscriptions') return { view: 'subscriptions' };
  if (hash === 'forecast') return { view: 'forecast' };
  return { view: 'overview' };
}

async function refreshView() {
  const route = currentRoute();
  const loads = [loadQueues()];
  if (route.view === 'overview') loads.push(loadPlan(), loadScans(), loadUndeliverable(), loadFailedEvents());
  if (route.view === 'subscriptions') loads.push(loadSubscriptions());
  if (route.view === 'subscription') loads.push(showSubscription(route.id));
  if (route.view === 'forecast') loads.push(loadForecast());
  const results = await Promise.allSettled(loads);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  const refreshed = $('refreshed');
  refreshed.hidden = false;
  refreshed.textContent = `Last refreshed ${new Date().toLocaleTimeString('en-GB')}`;
}

async function showView() {
  if (!session) return;
  const route = currentRoute();
  for (const view of document.querySelectorAll('.view')) view.hidden = view.id !== `view-${route.view}`;
  for (const link of document.querySelectorAll('#nav a[data-view]')) {
    const current = link.dataset.view === route.view || (route.view === 'subscription' && link.dataset.view === 'subscriptions');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (route.view === 'subscription') $('subscription').replaceChildren(element('p', { className: 'hint', text: `loading ${route.id}…` }));
  await refreshView();
}

async function rescan() {
  const button = $('rescan');
  button.disabled = true;
  showMessage('scanning…');
  try {
    const result = await callApi('/api/scans', { method: 'POST', body: {} });
    showMessage(result.scanId ? `scan #${result.scanId} as of ${result.asOf}: ${result.due} due, ${result.enqueued} enqueued, ${result.missed} missed, ${result.redelivered} pending notice${result.redelivered === 1 ? '' : 's'} redelivered` : result.message ?? 'scan requested');
    await refreshView();
  } catch (error) {
    reportError(error);
  } finally {
    button.disabled = false;
  }
}

function showLogin(reason) {
  session = null;
  for (const view of document.querySelectorAll('.view')) view.hidden = true;
  $('nav').hidden = true;
  $('session-actions').hidden = true;
  $('session-who').hidden = true;
  $('refreshed').hidden = true;
  $('login').hidden = false;
  if (reason) showMessage(reason, true);
  $('token').focus();
}

async function startSession() {
  session = await callApi('/api/session');
  $('session-who').textContent = `${session.name} (${session.role === 'viewer' ? 'viewer: read only' : session.role})`;
  $('session-who').hidden = false;
  $('rescan').hidden = isViewer();
  $('login').hidden = true;
  $('nav').hidden = false;
  $('session-actions').hidden = false;
  await showView();
}

function reportError(error) {
  if (error instanceof UnauthorizedError) {
    showLogin(error.message);
    return;
  }
  showMessage(error.message, true);
}

async function signIn(token) {
  const response = await fetch('/api/session', { method: 'POST', headers: { authorization: `Bearer ${token}` }, credentials: 'same-origin' });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new UnauthorizedError(payload.error ?? `HTTP ${response.status}`);
  const next = new URLSearchParams(location.search).get('next');
  // Only our own job board: never an address from elsewhere.
  if (next === '/queues' || next?.startsWith('/queues/')) {
    location.assign(next);
    return;
  }
  showMessage('');
  await startSession();
}

function startConsole() {
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    $('token').value = '';
    signIn(token).catch(reportError);
  });
  $('logout').addEventListener('click', async () => {
    await callApi('/api/session', { method: 'DELETE' }).catch(() => undefined);
    showLogin();
    showMessage('signed out');
  });
  $('rescan').addEventListener('click', () => rescan());
  $('refresh').addEventListener('click', () => refreshView().then(() => showMessage('refreshed'), reportError));
  $('lookup-form').addEventListener('submit', (event) => {
    event.preventDefault();
    lookup($('lookup-id').value.trim()).catch(reportError);
  });
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    listState.filters = readFilters();
    listState.cursors = [null];
    listState.page = 0;
    loadSubscriptions().catch(reportError);
  });
  $('filter-form').addEventListener('reset', () => {
    listState.filters = {};
    listState.cursors = [null];
    listState.page = 0;
    setTimeout(() => loadSubscriptions().catch(reportError));
  });
  $('page-next').addEventListener('click', () => {
    listState.page += 1;
    loadSubscriptions().catch(reportError);
  });
  $('page-first').addEventListener('click', () => {
    listState.page = 0;
    loadSubscriptions().catch(reportError);
  });
  $('notice-close').addEventListener('click', () => $('notice-dialog').close());
  $('notice-dialog').addEventListener('close', () => {
    $('notice-frame').src = 'about:blank';
  });
  window.addEventListener('hashchange', () => {
    // What was said about the last view does not belong to the next.
    showMessage('');
    showView().then(() => $('content').focus({ preventScroll: true }), reportError);
  });
  setInterval(() => {
    // The subscription page is not polled: an operator may be typing a ticket there.
    if (session && !document.hidden && currentRoute().view !== 'subscription') refreshView().catch(reportError);
  }, pollMs);
  startSession().catch((error) => (error instanceof UnauthorizedError ? showLogin() : reportError(error)));
}

startConsole();
