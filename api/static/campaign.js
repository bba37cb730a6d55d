// The campaign page: one GraphQL query on load, then one WebSocket (graphql-transport-ws) that
// keeps every petition's count live. Only the public API is used; nothing is built.
'use strict';

const QUERY = `query CampaignPage {
  campaign {
    totals { signatures openPetitions upcomingEvents fans }
    topPetitions(first: 6) { id slug title target goal signatureCount film { title } }
    upcomingEvents(first: 6) { id slug kind title startsAt timeZone venue city country onlineUrl icsUrl }
  }
  quotes(first: 5) { nodes { id text source sourceUrl saidOn person { name } } }
}`;

const SUBSCRIPTION = `subscription LiveCount($petitionId: ID!) {
  petitionSignatureCount(petitionId: $petitionId) { petitionId signatureCount goal }
}`;

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

function renderTotals(totals) {
  document.getElementById('totals').textContent =
    `${number.format(totals.signatures)} signatures on ${number.format(totals.openPetitions)} open petitions · ` +
    `${number.format(totals.upcomingEvents)} upcoming events · ${number.format(totals.fans)} fans`;
}

function setCount(petitionId, signatureCount, goal) {
  const card = document.querySelector(`[data-petition-id="${CSS.escape(petitionId)}"]`);
  if (!card) return;
  const count = card.querySelector('.count');
  const bar = card.querySelector('progress');
  if (count.textContent !== number.format(signatureCount)) {
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

function renderPetitions(petitions) {
  const list = document.getElementById('petitions');
  list.replaceChildren(...petitions.map((petition) => {
    const headingId = `petition-${petition.slug}`;
    const count = element('span', { class: 'count', 'data-value': String(petition.signatureCount) }, number.format(petition.signatureCount));
    const bar = element('progress', { max: String(petition.goal), value: String(Math.min(petition.signatureCount, petition.goal)), 'aria-labelledby': headingId });
    return element('li', { 'data-petition-id': petition.id, 'data-slug': petition.slug },
      element('h3', { id: headingId }, petition.title),
      element('p', { class: 'meta' }, `To ${petition.target}${petition.film ? ` · about ${petition.film.title}` : ''}`),
      bar,
      element('p', { class: 'meta', 'aria-live': 'polite' }, count, ` of ${number.format(petition.goal)} signatures`));
  }));
  if (petitions.length === 0) list.append(element('li', {}, 'No open petitions right now.'));
}

function renderEvents(events) {
  const list = document.getElementById('events');
  list.replaceChildren(...events.map((event) => {
    const place = event.onlineUrl ? 'Online' : [event.venue, event.city, event.country].filter(Boolean).join(', ');
    const start = new Date(event.startsAt);
    return element('li', { 'data-slug': event.slug },
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
        element('footer', {}, `— ${quote.person.name}, `, element('cite', {}, source))));
  }));
}

function subscribe(petitions) {
  if (petitions.length === 0) return;
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url, 'graphql-transport-ws');
  socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
  socket.addEventListener('message', (message) => {
    const data = JSON.parse(message.data);
    if (data.type === 'connection_ack') {
      for (const petition of petitions) {
        socket.send(JSON.stringify({ id: petition.id, type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { petitionId: petition.id } } }));
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

async function load() {
  try {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: QUERY, operationName: 'CampaignPage' }),
    });
    const body = await response.json();
    if (!body.data) throw new Error(body.errors?.[0]?.message ?? `HTTP ${response.status}`);
    renderTotals(body.data.campaign.totals);
    renderPetitions(body.data.campaign.topPetitions);
    renderEvents(body.data.campaign.upcomingEvents);
    renderQuotes(body.data.quotes.nodes);
    document.body.dataset.loaded = 'true';
    subscribe(body.data.campaign.topPetitions);
  } catch (error) {
    status(`The campaign could not be loaded: ${error.message}`);
  }
}

load();
