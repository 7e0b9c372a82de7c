// The bare runner page: runtimes/browser/runner.html?name=N&tags=a,b (token in the fragment,
// #token=T, or asked for with the form). Nothing but a browser runner showing its state, so a
// headless browser opened on that URL is a runner. No inline script (CSP script-src 'self').

import { connect } from './polyflow.js';

const $ = (id) => document.getElementById(id);

function parameters() {
  const query = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const tags = (query.get('tags') || '').split(',').map((t) => t.trim()).filter(Boolean);
  const name = query.get('name') || `tab-${Math.random().toString(16).slice(2, 8)}`;
  const token = fragment.get('token');
  if (token !== null) history.replaceState(null, '', location.pathname + location.search); // not left in the address bar
  return { name, tags, token, server: query.get('server') || undefined, askToken: query.has('ask-token') };
}

/** connected / held / lost / refused / stopped ..., as the page shows it. */
function linkText(runner) {
  if (runner.link === 'connected') return runner.modules === 'held' ? 'held' : 'connected';
  if (runner.link === 'backingOff') return runner.modules === 'stopped' ? 'lost, modules stopped' : 'lost, reconnecting';
  return runner.link;
}

function render(runner) {
  const snapshot = runner.snapshot();
  const link = $('link');
  link.textContent = linkText(runner) + (snapshot.session ? ` (session ${snapshot.session})` : '');
  link.dataset.state = runner.link === 'connected' && runner.modules === 'held' ? 'held' : runner.link;
  document.title = `${snapshot.name}: ${link.textContent} · Polyflow`;
  $('name').textContent = snapshot.name;
  const rows = snapshot.flows.map((f) => {
    const tr = document.createElement('tr');
    for (const text of [f.flow, f.state, f.modules.join(', ')]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $('flows').tBodies[0].replaceChildren(...rows);
  $('counters').replaceChildren(...Object.entries(snapshot.counters).flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    return [dt, dd];
  }));
  const badToken = runner.refusal && runner.refusal.code === 'bad-token';
  $('errors').replaceChildren(...snapshot.lastErrors.slice().reverse().map((e) => {
    const li = document.createElement('li');
    // The dispatcher words a token refusal for a command line (--token); a tab gets the browser's way.
    const text = badToken && runner.refusal.message ? e.text.split(runner.refusal.message).join(SHORT_TOKEN_ADVICE) : e.text;
    li.textContent = `${new Date(e.time).toISOString().slice(11, 23)} ${text}`;
    return li;
  }));
  const refusal = $('refusal');
  if (runner.refusal) {
    refusal.hidden = false;
    refusal.textContent = badToken ? tokenAdvice(runner.refusal) : `The dispatcher refused this tab: ${runner.refusal.message || runner.refusal.code}`;
  } else {
    refusal.hidden = true;
  }
  if (badToken) {
    $('token-form').hidden = false;
    if (!tokenFocused) { tokenFocused = true; $('token').focus(); }
  }
}

let tokenFocused = false;
const SHORT_TOKEN_ADVICE = "the token was refused: enter the dispatcher's token in the field above";

/** What a browser user does about a refused token: type it here, or open the page with it in the fragment. */
function tokenAdvice(refusal) {
  const wrong = /wrong/i.test(refusal.message || '');
  const here = `${location.pathname}${location.search || '?name=NAME'}#token=TOKEN`;
  return (wrong ? 'The dispatcher refused the token this tab sent. ' : 'The dispatcher needs a token. ')
    + "Enter the dispatcher's token (the one its flowctl serve was started with) in the field below and press Connect, "
    + `or open this page as ${here}.`;
}

let renderPlanned = false;
function planRender(runner) {
  if (renderPlanned) return;
  renderPlanned = true;
  requestAnimationFrame(() => { renderPlanned = false; render(runner); });
}

let runner = null;

function start(params) {
  if (runner !== null) runner.close();
  runner = connect({ ...params, onChange: planRender });
  window.polyflowRunner = runner; // for devtools and WebDriver tests
  render(runner);
}

const params = parameters();
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('token-form').hidden = true;
  $('refusal').hidden = true;
  tokenFocused = false;
  start({ ...params, token: $('token').value });
});
if (params.askToken && params.token === null) {
  $('token-form').hidden = false;
} else {
  start(params);
}
