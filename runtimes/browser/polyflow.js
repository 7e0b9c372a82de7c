// The browser runner, for any page:
//   import { connect } from "/runtimes/browser/polyflow.js";
//   const runner = connect({ server, token, name, tags });
// The tab joins the dispatcher at ws(s)://server/runners as a runner whose one runtime is
// `browser` (docs/runner-protocol.md; runtimes/browser/README.md). Plain ES modules, no build.

import { Runner } from './runner/runner.js';
import { ConsoleCapture } from './runner/console_capture.js';
import { systemClock } from './runner/clock.js';
import { formatArgs } from '../core/format_args.js';
import { RUNNERS_PATH, ID_PATTERN } from './protocol/constants.js';

/** ws(s)://host/runners from "host:port", "http(s)://host:port" or "ws(s)://..."; the page's host by default. */
function runnersUrl(server) {
  const page = globalThis.location;
  if (!server) {
    if (!page) throw new Error('connect: give `server` (e.g. "127.0.0.1:7770"): there is no page location to take it from');
    return `${page.protocol === 'https:' ? 'wss' : 'ws'}://${page.host}${RUNNERS_PATH}`;
  }
  const match = /^(https?|wss?):\/\/([^/]+)/.exec(server);
  if (match === null) return `${page && page.protocol === 'https:' ? 'wss' : 'ws'}://${server.replace(/\/+$/, '')}${RUNNERS_PATH}`;
  const secure = match[1] === 'https' || match[1] === 'wss';
  return `${secure ? 'wss' : 'ws'}://${match[2]}${RUNNERS_PATH}`;
}

/** "Chrome 131.0" / "Firefox 133.0" / ... from a user agent string. */
function browserVersion(userAgent) {
  for (const [name, pattern] of [['Edge', /Edg\/([\d.]+)/], ['Chrome', /Chrome\/([\d.]+)/], ['Firefox', /Firefox\/([\d.]+)/], ['Safari', /Version\/([\d.]+).*Safari/]]) {
    const match = pattern.exec(userAgent);
    if (match) return `${name} ${match[1]}`;
  }
  return userAgent ? userAgent.slice(0, 64) : 'unknown';
}

function randomInstance() {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Starts a browser runner. options: { server?, token?, name, tags?, onChange?(runner),
 * openSocket?(url) (tests: an in-memory socket; default: new WebSocket(url)), clock? (tests) }.
 * Returns the Runner: runner.link ('connecting', 'connected', 'backingOff', 'refused', ...),
 * runner.modules ('running', 'held', 'stopped'), runner.snapshot(), runner.close().
 */
function connect(options) {
  const { name, tags = [], token } = options;
  if (typeof name !== 'string' || !ID_PATTERN.test(name)) {
    throw new Error(`connect: name ${JSON.stringify(name)} is not [A-Za-z0-9_-]{1,64}: give the runner a name like "tab-1"`);
  }
  const clock = options.clock || systemClock();
  const userAgent = globalThis.navigator ? globalThis.navigator.userAgent : '';
  const capture = new ConsoleCapture(formatArgs, options.console || globalThis.console);
  capture.install();
  const runner = new Runner({
    url: runnersUrl(options.server), token, name, tags,
    runtime: { id: 'browser', name: 'Browser', version: browserVersion(userAgent) },
    instance: options.instance || randomInstance(),
    openSocket: options.openSocket || ((url) => new WebSocket(url)),
    clock, capture, onChange: options.onChange,
  });
  const onError = (event) => runner.pageError(`uncaught exception: ${event.error && event.error.stack ? event.error.stack : event.message}`);
  const onRejection = (event) => {
    const reason = event.reason;
    runner.pageError(`unhandled promise rejection: ${reason && reason.stack ? reason.stack : String(reason)}`);
  };
  const watchPage = typeof globalThis.addEventListener === 'function' && options.pageErrors !== false;
  if (watchPage) {
    globalThis.addEventListener('error', onError);
    globalThis.addEventListener('unhandledrejection', onRejection);
  }
  const closeRunner = runner.close.bind(runner);
  runner.close = () => {
    closeRunner();
    capture.uninstall();
    if (watchPage) {
      globalThis.removeEventListener('error', onError);
      globalThis.removeEventListener('unhandledrejection', onRejection);
    }
  };
  runner.start();
  return runner;
}

export { connect, runnersUrl, browserVersion };
