// The campaign page: one GraphQL query on load, then one WebSocket (graphql-transport-ws) that
// keeps every petition's count live, and the header's totals fetched again when a count moves
// and every minute. A fan can sign up, log in, get a verification link mailed,
// and sign or withdraw; the session's tokens stay in this browser's localStorage. Only the public
// API is used; nothing is built.
'use strict';

// The page's operations come from clients/campaign/*.graphql through the manifest graphql-codegen
// generates (hash → document), served at /campaign/operations.json. Each call sends the manifest's
// text with its hash (the persisted-query extension), so a server that runs only trusted documents
// runs every one of them.
let operations = null;

async function operation(name) {
  if (!operations) {
    const manifest = await fetch('/campaign/operations.json').then((answer) => answer.json());
    operations = new Map();
    for (const [key, text] of Object.entries(manifest)) {
      const named = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(text);
      if (named) operations.set(named[1], { hash: key.replace(/^sha256:/, ''), text });
    }
  }
  const found = operations.get(name);
  if (!found) throw new Error(`no operation ${name} in the manifest`);
  return found;
}

async function request(name, variables) {
  const { hash, text } = await operation(name);
  return { query: text, operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } };
}

const SESSION = 'fandb.session';
const number = new Intl.NumberFormat();
const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function status(message) {
  document.getElementById('status').textContent = message;
}

// The page is in English (lang="en"), so its words follow English plural rules.
const plurals = new Intl.PluralRules('en');

function counted(count, one, other) {
  return `${number.format(count)} ${plurals.select(count) === 'one' ? one : other}`;
}

function renderTotals(totals) {
  const text =
    // Signatures of closed petitions count too, so the total is not said to be on the open ones.
    `${counted(totals.signatures, 'signature', 'signatures')} · ${counted(totals.openPetitions, 'open petition', 'open petitions')} · ` +
    `${counted(totals.upcomingEvents, 'upcoming event', 'upcoming events')} · ${counted(totals.fans, 'fan', 'fans')}`;
  // Only a change is written: the header is a live region, and a screen reader would read out
  // each minute's unchanged totals again.
  const header = document.getElementById('totals');
  if (header.textContent !== text) header.textContent = text;
}

// The header's totals, fetched again (CampaignTotals): soon after a live count moves, since the
// signatures total moved with it (several moves in a burst make one fetch), and every minute,
// since fans joining, petitions closing and events ending come over no subscription.
const TOTALS_SETTLE_MS = 300;
const TOTALS_EVERY_MS = 60000;
let totalsTimer = null;

async function refreshTotals() {
  totalsTimer = null;
  try {
    const body = await graphql('CampaignTotals');
    if (body.data) renderTotals(body.data.campaign.totals);
  } catch (error) {
    // The next count that moves, or the next minute, tries again; the shown totals stay.
  }
}

function totalsMoved() {
  if (totalsTimer === null) totalsTimer = setTimeout(refreshTotals, TOTALS_SETTLE_MS);
}

function setCount(petitionId, signatureCount, goal) {
  const card = document.querySelector(`[data-petition-id="${CSS.escape(petitionId)}"]`);
  if (!card) return;
  const count = card.querySelector('.count');
  const bar = card.querySelector('progress');
  if (count.textContent !== number.format(signatureCount)) {
    totalsMoved();
    count.textContent = number.format(signatureCount);
    count.dataset.value = String(signatureCount);
    count.classList.remove('changed');
    void count.offsetWidth;
    count.classList.add('changed');
  }
  bar.max = goal;
  bar.value = Math.min(signatureCount, goal);
  bar.textContent = `${Math.round((100 * signatureCount) / goal)}%`;
}

function session() {
  try { return JSON.parse(localStorage.getItem(SESSION)); } catch (error) { return null; }
}

function keep(payload) {
  if (payload) localStorage.setItem(SESSION, JSON.stringify({ accessToken: payload.accessToken, refreshToken: payload.refreshToken }));
  else localStorage.removeItem(SESSION);
}

function accountStatus(message) {
  document.getElementById('account-status').textContent = message;
}

// One GraphQL call, signed in when a session is kept; an ended or expired access token is traded
// for a new pair once, and a session that cannot be renewed is forgotten.
async function graphql(name, variables = {}, retried = false) {
  const kept = session();
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (kept) headers.authorization = `Bearer ${kept.accessToken}`;
  const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify(await request(name, variables)) });
  const body = await response.json();
  if (kept && !retried && body.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED' && !body.data) {
    const renewed = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await request('RefreshSession', { t: kept.refreshToken })),
    }).then((answer) => answer.json());
    keep(renewed.data?.refreshSession ?? null);
    return graphql(name, variables, true);
  }
  return body;
}

function renderAccount(me) {
  document.getElementById('signed-out').hidden = Boolean(me);
  document.getElementById('signed-in').hidden = !me;
  document.body.dataset.signedIn = me ? 'true' : 'false';
  if (!me) return;
  document.getElementById('account-name').textContent = me.displayName;
  document.getElementById('verification').textContent = me.emailVerified
    ? 'Your email address is verified.'
    : 'Check your mail: open the link we sent to verify your address.';
  document.getElementById('resend').hidden = me.emailVerified;
  document.body.dataset.verified = me.emailVerified ? 'true' : 'false';
}

function renderSignButton(card, signed) {
  const actions = card.querySelector('.actions');
  const signedIn = Boolean(session());
  card.dataset.signed = signed ? 'true' : 'false';
  actions.replaceChildren();
  if (signed) actions.append(element('p', { class: 'signed' }, 'You signed this.'));
  if (!signedIn) return;
  const button = element('button', { type: 'button', class: signed ? 'withdraw secondary' : 'sign' }, signed ? 'Withdraw my signature' : 'Sign this petition');
  button.addEventListener('click', () => (signed ? withdraw(card) : sign(card)));
  actions.append(button);
}

async function sign(card) {
  const body = await graphql('SignPetition', { id: card.dataset.petitionId });
  if (body.errors) { accountStatus(body.errors[0].message); return; }
  accountStatus('Thank you for signing!');
  renderSignButton(card, true);
}

async function withdraw(card) {
  const body = await graphql('WithdrawSignature', { id: card.dataset.petitionId });
  if (body.errors) { accountStatus(body.errors[0].message); return; }
  accountStatus('Your signature was withdrawn.');
  renderSignButton(card, false);
}

async function signUp(event) {
  event.preventDefault();
  const input = {
    displayName: document.getElementById('register-name').value,
    email: document.getElementById('register-email').value,
    password: document.getElementById('register-password').value,
  };
  const body = await graphql('Register', { input });
  if (body.errors?.[0]?.extensions?.code === 'EMAIL_VERIFICATION_PENDING') {
    // A server that requires a proven address starts no session here: the mailed link comes first,
    // then the fan signs in with the login form, which is filled in for them.
    document.getElementById('register-form').reset();
    document.getElementById('login-email').value = input.email;
  }
  if (body.errors) { accountStatus(body.errors[0].message); return; }
  keep(body.data.register);
  accountStatus('Welcome! We mailed you a link to verify your address.');
  load();
}

async function logIn(event) {
  event.preventDefault();
  const input = { email: document.getElementById('login-email').value, password: document.getElementById('login-password').value };
  const body = await graphql('Login', { input });
  if (body.errors) { accountStatus(body.errors[0].message); return; }
  keep(body.data.login);
  accountStatus('');
  load();
}

async function logOut() {
  const kept = session();
  if (kept) await graphql('Logout', { t: kept.refreshToken });
  keep(null);
  accountStatus('You are logged out.');
  load();
}

async function resend() {
  const body = await graphql('ResendVerification');
  accountStatus(body.errors ? body.errors[0].message : 'A new link is on its way.');
}

// An image by URL (https only, checked by the API) with its record's title as the alt text.
function image(url, alt) {
  return url ? element('img', { src: url, alt, class: 'picture', loading: 'lazy' }) : null;
}

// A petition's latest update: the title as text, the body as the HTML the API rendered from
// Markdown and sanitized (no scripts, event handlers or javascript: links reach the page).
function renderUpdate(update) {
  if (!update) return null;
  const body = element('div', { class: 'update-body' });
  body.innerHTML = update.bodyHtml;
  return element('section', { class: 'update', 'data-update-id': update.id },
    element('h4', {}, `Update: ${update.title}`),
    element('p', { class: 'meta' }, element('time', { datetime: update.publishedAt }, when.format(new Date(update.publishedAt)))),
    body);
}

function renderPetitions(petitions) {
  const list = document.getElementById('petitions');
  list.replaceChildren(...petitions.map((petition) => {
    const headingId = `petition-${petition.slug}`;
    const count = element('span', { class: 'count', 'data-value': String(petition.signatureCount) }, number.format(petition.signatureCount));
    const bar = element('progress', { max: String(petition.goal), value: String(Math.min(petition.signatureCount, petition.goal)), 'aria-labelledby': headingId });
    return element('li', { 'data-petition-id': petition.id, 'data-slug': petition.slug },
      image(petition.imageUrl, petition.title),
      element('h3', { id: headingId }, petition.title),
      element('p', { class: 'meta' }, `To ${petition.target}${petition.film ? ` · about ${petition.film.title}` : ''}`),
      bar,
      element('p', { class: 'meta', 'aria-live': 'polite' }, count, ` of ${number.format(petition.goal)} signatures`),
      element('div', { class: 'actions' }),
      petition.film ? image(petition.film.posterUrl, `Poster of ${petition.film.title}`) : null,
      renderUpdate(petition.updates.nodes[0]));
  }));
  for (const petition of petitions) {
    const card = list.querySelector(`[data-petition-id="${CSS.escape(petition.id)}"]`);
    if (card) renderSignButton(card, petition.viewerHasSigned);
  }
  if (petitions.length === 0) list.append(element('li', {}, 'No open petitions right now.'));
}

function renderEvents(events) {
  const list = document.getElementById('events');
  list.replaceChildren(...events.map((event) => {
    const place = event.onlineUrl ? 'Online' : [event.venue, event.city, event.country].filter(Boolean).join(', ');
    const start = new Date(event.startsAt);
    return element('li', { 'data-slug': event.slug },
      image(event.imageUrl, event.title),
      element('h3', {}, event.title),
      element('p', { class: 'meta' }, element('time', { datetime: event.startsAt }, when.format(start))),
      element('p', { class: 'meta' }, [event.kind.replaceAll('_', ' ').toLowerCase(), place].filter(Boolean).join(' · ')),
      element('a', { class: 'calendar', href: event.icsUrl, 'aria-label': `Add “${event.title}” to your calendar` }, 'Add to calendar'));
  }));
  if (events.length === 0) list.append(element('li', {}, 'No upcoming events yet.'));
}

function renderQuotes(quotes) {
  document.getElementById('quotes').replaceChildren(...quotes.map((quote) => {
    const source = quote.sourceUrl ? element('a', { href: quote.sourceUrl, rel: 'noopener' }, quote.source) : quote.source;
    return element('li', {},
      element('blockquote', {},
        element('p', {}, `“${quote.text}”`),
        element('footer', {}, image(quote.person.photoUrl, quote.person.name), `— ${quote.person.name}, `, element('cite', {}, source))));
  }));
}

function subscribe(petitions) {
  if (petitions.length === 0) return;
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url, 'graphql-transport-ws');
  socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
  socket.addEventListener('message', async (message) => {
    const data = JSON.parse(message.data);
    if (data.type === 'connection_ack') {
      for (const petition of petitions) {
        const payload = await request('LiveCount', { petitionId: petition.id });
        socket.send(JSON.stringify({ id: petition.id, type: 'subscribe', payload }));
      }
      document.body.dataset.live = 'true';
    } else if (data.type === 'next' && data.payload.data) {
      const count = data.payload.data.petitionSignatureCount;
      setCount(count.petitionId, count.signatureCount, count.goal);
    } else if (data.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    }
  });
  socket.addEventListener('close', () => {
    document.body.dataset.live = 'false';
    status('Live counts paused; reconnecting…');
    setTimeout(() => { status(''); subscribe(petitions); }, 3000);
  });
}

let subscribed = false;

async function load() {
  try {
    const body = await graphql('CampaignPage');
    if (!body.data) throw new Error(body.errors?.[0]?.message ?? 'no data');
    renderAccount(body.data.me);
    renderTotals(body.data.campaign.totals);
    renderPetitions(body.data.campaign.topPetitions);
    renderEvents(body.data.campaign.upcomingEvents);
    renderQuotes(body.data.quotes.nodes);
    document.body.dataset.loaded = 'true';
    if (!subscribed) {
      subscribed = true;
      subscribe(body.data.campaign.topPetitions);
      setInterval(refreshTotals, TOTALS_EVERY_MS);
    }
  } catch (error) {
    status(`The campaign could not be loaded: ${error.message}`);
  }
}

document.getElementById('register-form').addEventListener('submit', signUp);
document.getElementById('login-form').addEventListener('submit', logIn);
document.getElementById('logout').addEventListener('click', logOut);
document.getElementById('resend').addEventListener('click', resend);
load();
