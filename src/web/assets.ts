// The status page's only assets, served by the daemon itself (no build step): a style sheet, an
// icon, and a small script that keeps the page current from /events. Their paths carry a digest of
// their content, so a browser may cache them for good.
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light dark; --failing: #d32f2f; --degraded: #ef8f00; --healthy: #2e7d32; --muted: #777; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; }
header { display: flex; gap: 1em; align-items: baseline; padding: .5em 1em; border-bottom: 1px solid #8884; }
header .brand { font-weight: bold; text-decoration: none; }
header .live { margin-left: auto; color: var(--muted); font-size: 12px; }
main { padding: 0 1em 2em; }
h1 small, .meta, .note, .crumbs { color: var(--muted); font-weight: normal; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #8883; vertical-align: top; }
td.headline { max-width: 48em; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; }
.badge.state-failing { background: var(--failing); color: #fff; }
.badge.state-degraded { background: var(--degraded); color: #fff; }
.badge.state-healthy { background: var(--healthy); color: #fff; }
.badge.state-pending { background: var(--muted); color: #fff; }
.incident .recovering { color: var(--healthy); font-weight: normal; }
td.state, td.figure, td.nowrap { white-space: nowrap; }
td.headline[data-verdict=failed] { color: var(--failing); }
td.headline[data-verdict=degraded] { color: var(--degraded); }
tr.state-failing td.headline, .run.verdict-failed .headline, .counts .state-failing, p.now.state-failing { color: var(--failing); }
tr.state-degraded td.headline, .run.verdict-degraded .headline, .counts .state-degraded, p.now.state-degraded { color: var(--degraded); }
.counts .state-failing, .counts .state-degraded { font-weight: bold; }
.spark { vertical-align: middle; }
.spark polyline { fill: none; stroke: currentColor; stroke-width: 1.5; }
.spark .spark-failed { fill: var(--failing); }
.days { display: inline-flex; gap: 1px; list-style: none; margin: 0; padding: 0; vertical-align: middle; }
.days .day { display: inline-block; width: 3px; height: 16px; border-radius: 1px; background: #8884; }
.days.each { gap: 2px; margin: .5em 0; }
.days.each .day { width: 6px; height: 28px; }
.days .day:focus { outline: 2px solid currentColor; outline-offset: 1px; }
.days .day-ok { background: var(--healthy); }
.days .day-degraded { background: var(--degraded); }
.days .day-failed { background: var(--failing); }
td.history { white-space: nowrap; }
td.history .uptime { color: var(--muted); font-size: 12px; }
.chart { max-width: 100%; height: auto; }
.chart .grid { stroke: #8884; }
.chart .axis { fill: var(--muted); font-size: 11px; }
.chart .band { fill: #3b82f655; stroke: none; }
.chart .p50 { fill: none; stroke: #3b82f6; stroke-width: 1.5; }
.chart circle.p50 { fill: #3b82f6; }
table.incidents details { color: var(--muted); }
.waterfall rect { fill: #4a90d9; }
.waterfall text { font-size: 12px; fill: currentColor; }
span.verdict-ok, .check-ok td:first-child { color: var(--healthy); }
span.verdict-failed, .check-failed td, tr.verdict-failed td.headline { color: var(--failing); }
span.verdict-degraded, tr.verdict-degraded td.headline { color: var(--degraded); }
.waterfall rect.unfinished { fill: none; stroke: var(--failing); stroke-dasharray: 4 2; }
.waterfall text.unfinished { fill: var(--failing); }
.check-degraded td { color: var(--degraded); }
.label { margin-left: .5em; padding: 0 5px; border: 1px solid #8886; border-radius: 4px; font-size: 12px; }
.filter label { margin-right: 1em; }
.timeline-state { font-weight: bold; }
p.warning { padding: .5em 1em; border: 1px solid var(--degraded); border-radius: 4px; color: var(--degraded); font-weight: bold; }
img.screenshot { max-width: 100%; height: auto; border: 1px solid var(--muted); }
.timeline-undelivered { color: var(--degraded); }
tr.expired { color: var(--muted); }
`;

/** Patches arrive as {target, html, into?, match?}: replace the element with that id; add it to
 * `into` when new and it matches this page's filter; drop it when it no longer does. Relative
 * times ("12s ago") tick from their datetime. */
const LIVE = `
(function () {
  var body = document.body, url = body.getAttribute('data-live');
  var status = document.getElementById('live-status');
  function local() {
    document.querySelectorAll('time[data-local]').forEach(function (t) {
      var at = new Date(t.getAttribute('datetime'));
      t.textContent = at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
      t.removeAttribute('data-local');
    });
  }
  local();
  setInterval(tick, 1000);
  if (!url || !window.EventSource) return;
  var query = new URLSearchParams(location.search);
  var since = body.getAttribute('data-since');
  var source = new EventSource(url + (since ? '&since=' + since : ''));
  function say(text) { if (status) status.textContent = text; }
  say('connecting…');
  source.onopen = function () { say('live'); };
  source.onerror = function () { say('reconnecting…'); };
  function wanted(match) {
    if (!match) return true;
    if (query.get('state') && match.state !== query.get('state')) return false;
    if (query.get('kind') && match.kind !== query.get('kind')) return false;
    var label = query.get('label');
    if (label && !match.labels.some(function (l) { return label.indexOf('=') >= 0 ? l === label : l.indexOf(label + '=') === 0; })) return false;
    return true;
  }
  function sort(container) {
    var rows = Array.prototype.slice.call(container.children);
    rows.sort(function (a, b) {
      return (a.getAttribute('data-rank') - b.getAttribute('data-rank')) || (a.getAttribute('data-name') < b.getAttribute('data-name') ? -1 : 1);
    });
    rows.forEach(function (row) { container.appendChild(row); });
  }
  source.addEventListener('patch', function (event) {
    var patch = JSON.parse(event.data);
    var element = document.getElementById(patch.target);
    var show = wanted(patch.match);
    if (element) { if (show) element.outerHTML = patch.html; else element.remove(); }
    else if (show && patch.into) { var into = document.getElementById(patch.into); if (into) into.insertAdjacentHTML('beforeend', patch.html); }
    if (patch.into) { var container = document.getElementById(patch.into); if (container) sort(container); }
    local();
    tick();
  });
  function age(ms) {
    var s = Math.max(0, ms) / 1000;
    if (s < 1) return Math.round(ms) + 'ms';
    if (s < 60) return (Math.round(s * 10) / 10) + 's';
    var m = Math.floor(s / 60); if (m < 60) return m + 'm ' + String(Math.round(s % 60)).padStart(2, '0') + 's';
    var h = Math.floor(m / 60); return h + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('time[data-suffix]').forEach(function (t) {
      t.textContent = age(now - Date.parse(t.getAttribute('datetime'))) + (t.getAttribute('data-suffix') || '');
    });
    document.querySelectorAll('time[data-until]').forEach(function (t) {
      t.textContent = 'in ' + age(Date.parse(t.getAttribute('datetime')) - now);
    });
  }
})();
`;

function asset(name: string, ext: string, type: string, body: string) {
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `/assets/${name}.${digest}.${ext}`, type, body };
}

const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="#2e7d32"/></svg>';

export const ASSETS = {
  icon: asset('icon', 'svg', 'image/svg+xml', ICON),
  style: asset('style', 'css', 'text/css; charset=utf-8', STYLE),
  live: asset('live', 'js', 'text/javascript; charset=utf-8', LIVE),
};
