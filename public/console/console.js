// The operator console: vanilla JS against the admin API, no build step. Everything shown is
// put in the page with textContent, never innerHTML: partner-supplied text stays text.
'use strict';

const tokenKey = 'lifecycle.adminToken';
const states = ['waiting', 'active', 'delayed', 'failed', 'completed'];

const $ = (id) => document.getElementById(id);

class UnauthorizedError extends Error {}

// The token's name and role (GET /api/session): a viewer's console offers no action it would be refused.
let session = null;
const isViewer = () => session?.role === 'viewer';

async function callApi(path, options = {}) {
  const token = sessionStorage.getItem(tokenKey);
  const headers = { authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const payload = await response.json().catch(() => ({}));
  if (response.status === 401) throw new UnauthorizedError(payload.error ?? 'unauthorized');
  // 403: the token's role does not allow it; 429: too many failed logins from here. The API says why.
  if (response.status === 403) throw new Error(`not allowed: ${payload.error ?? 'forbidden'}`);
  if (!response.ok) throw new Error(payload.error ?? `${response.status} ${response.statusText}`);
  return payload;
}

function showMessage(text, isError = false) {
  const message = $('message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
}

function createCell(content) {
  const cell = document.createElement('td');
  if (content instanceof Node) cell.append(content);
  else cell.textContent = content === null || content === undefined ? '—' : String(content);
  return cell;
}

function fillTable(id, rows, emptyText) {
  const body = $(id).querySelector('tbody');
  body.replaceChildren();
  if (rows.length === 0) {
    const row = document.createElement('tr');
    const cell = createCell(emptyText);
    cell.colSpan = $(id).querySelectorAll('th').length;
    cell.className = 'empty';
    row.append(cell);
    body.append(row);
    return;
  }
  for (const cells of rows) {
    const row = document.createElement('tr');
    row.append(...cells.map(createCell));
    body.append(row);
  }
}

function createSubscriptionLink(id) {
  const link = document.createElement('a');
  link.href = `#${encodeURIComponent(id)}`;
  link.textContent = id;
  link.addEventListener('click', (event) => {
    event.preventDefault();
    $('lookup-id').value = id;
    showSubscription(id).catch(reportError);
  });
  return link;
}

function createButton(text, onClick) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = text;
  button.className = 'small';
  button.addEventListener('click', () => onClick(button));
  return button;
}

function formatTime(iso) {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '—';
}

async function loadQueues() {
  const queues = await callApi('/api/queues');
  const counts = $('queue-counts');
  counts.replaceChildren();
  for (const [name, byState] of Object.entries(queues)) {
    const group = document.createElement('span');
    group.className = 'count-group';
    group.textContent = `${name}: ${states.map((state) => `${state} ${byState[state] ?? 0}`).join(' · ')}`;
    if ((byState.failed ?? 0) > 0) group.classList.add('warn');
    counts.append(group);
  }
}

async function loadPlan() {
  const plan = await callApi('/api/plan');
  $('plan-range').textContent = `${plan.from} … ${plan.to} · ${plan.next ? 'first ' : ''}${plan.total} action${plan.total === 1 ? '' : 's'}`;
  const rows = [];
  for (const day of plan.days) {
    for (const action of day.actions) {
      const label = day.date === plan.from ? `${day.date} (today)` : day.date;
      rows.push([label, action.action, createSubscriptionLink(action.subscription), action.anniversary]);
    }
  }
  fillTable('plan', rows, 'nothing due in the next 30 days');
}

async function loadScans() {
  const { scans } = await callApi('/api/scans?limit=10');
  fillTable(
    'scans',
    scans.map((scan) => [`#${scan.id}`, scan.asOf, scan.trigger, scan.error ? `${scan.status}: ${scan.error}` : scan.status, scan.due, scan.enqueued, scan.missed, formatTime(scan.startedAt)]),
    'no scan yet',
  );
}

async function loadFailedJobs() {
  const { jobs } = await callApi('/api/jobs/failed');
  fillTable(
    'failed',
    jobs.map((job) => [
      job.id,
      job.attempts,
      job.reason,
      isViewer() ? '' : createButton('Retry', (button) => retryJob(job.id, button)),
    ]),
    'no failed job',
  );
}

async function loadUndeliverable() {
  const { notices } = await callApi('/api/notices/undeliverable');
  fillTable(
    'undeliverable',
    notices.map((notice) => [createSubscriptionLink(notice.subscription), notice.partner, notice.kind, notice.anniversary]),
    'none',
  );
}

async function loadFailedEvents() {
  const { events } = await callApi('/api/events?status=failed&limit=50');
  fillTable(
    'failed-events',
    events.map((event) => [
      `#${event.id}`,
      event.type,
      event.data.subscription ? createSubscriptionLink(event.data.subscription) : '—',
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
    await refreshAll();
  } catch (error) {
    button.disabled = false;
    reportError(error);
  }
}

async function retryJob(id, button) {
  button.disabled = true;
  try {
    await callApi(`/api/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST' });
    showMessage(`job ${id} retried`);
    await refreshAll();
  } catch (error) {
    button.disabled = false;
    reportError(error);
  }
}

function buildTimeline(subscription) {
  const events = [
    ...subscription.actions.map((a) => ({ when: a.effectiveOn, what: `${a.action}: ${a.outcome}`, detail: a.detail ?? `cycle ${a.anniversary}` })),
    ...subscription.notices.map((n) => ({ when: n.sentAt ? n.sentAt.slice(0, 10) : '—', what: `notice ${n.kind}: ${n.status}`, detail: n.recipients.join(', ') || '(no recipient)' })),
    ...subscription.invoices.map((i) => ({ when: i.issuedOn, what: `invoice ${i.number}: ${i.status}`, detail: `${i.purpose}, ${(i.amountMinor / 100).toFixed(2)} ${i.currency}, ${i.method}` })),
    ...subscription.audit.map((a) => ({ when: a.effectiveOn ?? a.at.slice(0, 10), what: a.event, detail: `by ${a.actor}${a.actorRef ? ` ${a.actorRef}` : ''}` })),
  ];
  return events.sort((a, b) => (a.when < b.when ? -1 : a.when > b.when ? 1 : 0));
}

async function showSubscription(id) {
  const target = $('subscription');
  const s = await callApi(`/api/subscriptions/${encodeURIComponent(id)}`);
  const summary = document.createElement('dl');
  const facts = [
    ['Offer', s.offer === 'action_pack' ? 'Action Pack' : `Competency ${s.competency?.area} (${s.competency?.level})`],
    ['Partner', s.partner.name ? `${s.partner.name} (${s.partner.id})` : s.partner.id],
    ['Status', s.summary],
    ['Anniversary', s.anniversary],
    // A cancelled subscription has no window or lapse, only the day its benefits end (R11).
    ...(s.benefitsEndOn
      ? [['Benefits end', s.benefitsEndOn]]
      : [['Window', `${s.windowOpens} … ${s.windowCloses}`], ['Lapses on', s.lapsedOn ? `lapsed on ${s.lapsedOn}` : s.lapsesOn]]),
    ['Auto-renew', s.autoRenew ? `on (${s.paymentMethod ?? 'no payment method'})` : 'off'],
    ['Due today', s.dueOnAsOf.length ? s.dueOnAsOf.join(', ') : 'nothing'],
  ];
  for (const exception of s.exceptions) facts.push(['Exception', `${exception.id}${exception.isEligible ? '' : ' (not eligible yet)'}`]);
  for (const [term, value] of facts) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    summary.append(dt, dd);
  }
  const heading = document.createElement('h3');
  heading.textContent = s.id;
  const timeline = document.createElement('ol');
  timeline.className = 'timeline';
  for (const event of buildTimeline(s)) {
    const item = document.createElement('li');
    const when = document.createElement('time');
    when.textContent = event.when;
    const what = document.createElement('strong');
    what.textContent = event.what;
    const detail = document.createElement('span');
    detail.textContent = event.detail;
    item.append(when, what, detail);
    timeline.append(item);
  }
  if (!timeline.children.length) {
    const item = document.createElement('li');
    item.textContent = 'nothing happened yet';
    timeline.append(item);
  }
  target.replaceChildren(heading, summary, timeline);
}

async function refreshAll() {
  const results = await Promise.allSettled([loadQueues(), loadPlan(), loadScans(), loadFailedJobs(), loadUndeliverable(), loadFailedEvents()]);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
}

async function rescan() {
  const button = $('rescan');
  button.disabled = true;
  showMessage('scanning…');
  try {
    const result = await callApi('/api/scans', { method: 'POST', body: {} });
    showMessage(result.scanId ? `scan #${result.scanId} as of ${result.asOf}: ${result.due} due, ${result.enqueued} enqueued, ${result.missed} missed, ${result.redelivered} pending notice${result.redelivered === 1 ? '' : 's'} redelivered` : result.message ?? 'scan requested');
    await refreshAll();
  } catch (error) {
    reportError(error);
  } finally {
    button.disabled = false;
  }
}

function showLogin(reason) {
  $('console').hidden = true;
  $('session-actions').hidden = true;
  $('login').hidden = false;
  $('queue-counts').replaceChildren();
  if (reason) showMessage(reason, true);
  $('token').focus();
}

async function showConsole() {
  session = await callApi('/api/session');
  $('session-who').textContent = `${session.name} (${session.role === 'viewer' ? 'viewer: read only' : session.role})`;
  $('rescan').hidden = isViewer();
  $('login').hidden = true;
  $('console').hidden = false;
  $('session-actions').hidden = false;
  await refreshAll();
}

function reportError(error) {
  if (error instanceof UnauthorizedError) {
    sessionStorage.removeItem(tokenKey);
    session = null;
    showLogin(error.message);
    return;
  }
  showMessage(error.message, true);
}

function startConsole() {
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(tokenKey, $('token').value.trim());
    $('token').value = '';
    showMessage('');
    showConsole().catch(reportError);
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(tokenKey);
    session = null;
    showMessage('logged out');
    showLogin();
  });
  $('rescan').addEventListener('click', () => rescan());
  $('refresh').addEventListener('click', () => refreshAll().then(() => showMessage('refreshed'), reportError));
  $('lookup-form').addEventListener('submit', (event) => {
    event.preventDefault();
    showSubscription($('lookup-id').value.trim()).catch(reportError);
  });
  setInterval(() => {
    if (sessionStorage.getItem(tokenKey) && !document.hidden) refreshAll().catch(reportError);
  }, 30_000);
  if (sessionStorage.getItem(tokenKey)) showConsole().catch(reportError);
  else showLogin();
}

startConsole();
