// The console's only script and stylesheet, served from the console itself (CSP: script-src 'self',
// style-src 'self'; Trusted Types required, so the script builds the DOM with textContent only).

/**
 * Keeps the pending list live: polls the table's data-api URL (<console>/api/pending: same origin,
 * the session cookie, the console's public path as the page gives it, so a path prefix holds) every
 * 2 s and rebuilds the table's rows with DOM nodes and textContent (no HTML parsing), and counts the
 * time left every second. Without JavaScript the page still works (it is rendered on the server).
 */
export const CONSOLE_JS = `'use strict';
(function () {
  var table = document.getElementById('pending');
  if (!table) return;
  var body = table.querySelector('tbody');
  var status = document.getElementById('live-status');
  var count = document.getElementById('pending-count');
  var api = table.getAttribute('data-api');
  var approvals = table.getAttribute('data-approvals');
  if (!api || !approvals) return;
  function left(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    if (!(ms > 0)) return 'expired';
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h > 0 ? h + 'h ' + m + 'm' : m + 'm ' + (s % 60) + 's';
  }
  // As the server's visible(): printable ASCII as text, every other UTF-16 unit as a marked \\uXXXX.
  function vis(node, text) {
    var plain = '';
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c >= 0x20 && c < 0x7f) { plain += text[i]; continue; }
      if (plain) { node.appendChild(document.createTextNode(plain)); plain = ''; }
      var span = document.createElement('span');
      span.className = 'esc';
      span.textContent = '\\\\u' + ('000' + c.toString(16).toUpperCase()).slice(-4);
      node.appendChild(span);
    }
    if (plain) node.appendChild(document.createTextNode(plain));
    return node;
  }
  function cell(tr, text, cls) {
    var td = document.createElement('td');
    vis(td, text == null ? '' : String(text));
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function render(items) {
    var rows = [];
    items.forEach(function (a) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-id', a.id);
      var first = document.createElement('td');
      var link = document.createElement('a');
      link.href = approvals + encodeURIComponent(a.id);
      vis(link, a.server + ' / ' + a.tool);
      first.appendChild(link);
      if (a.repeat) {
        var mark = document.createElement('span');
        mark.className = a.repeatUncertain ? 'repeat uncertain' : 'repeat';
        mark.textContent = a.repeat;
        first.appendChild(document.createTextNode(' '));
        first.appendChild(mark);
      }
      tr.appendChild(first);
      cell(tr, a.agentId, 'mono');
      cell(tr, a.user, 'mono');
      cell(tr, a.agentSession, 'mono');
      cell(tr, a.reason);
      cell(tr, a.approvalsGiven + ' of ' + a.requiredApprovals);
      cell(tr, a.argumentBytes + ' bytes');
      var t = cell(tr, left(a.expiresAt), 'left');
      t.setAttribute('data-expires', a.expiresAt);
      rows.push(tr);
    });
    body.replaceChildren.apply(body, rows);
    if (count) count.textContent = String(items.length);
  }
  function tick() {
    body.querySelectorAll('td.left[data-expires]').forEach(function (td) {
      td.textContent = left(td.getAttribute('data-expires'));
    });
  }
  function poll() {
    fetch(api, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) {
        if (r.status === 401) { if (status) status.textContent = 'Signed out: reload to sign in again.'; return null; }
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (j) {
        if (!j) return;
        render(j.approvals);
        if (status) status.textContent = 'Live: updated ' + new Date().toLocaleTimeString();
        setTimeout(poll, 2000);
      })
      .catch(function () {
        if (status) status.textContent = 'Live updates paused (retrying)';
        setTimeout(poll, 5000);
      });
  }
  setInterval(tick, 1000);
  poll();
})();
`;

export const CONSOLE_CSS = `
:root { color-scheme: light; font-family: system-ui, sans-serif; }
body { margin: 0; color: #1b1f24; background: #f6f7f9; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1b2a41; color: #fff; flex-wrap: wrap; }
header a { color: #cfe0ff; margin-right: .8rem; }
header a[aria-current] { color: #fff; font-weight: bold; }
header .logout { margin-left: auto; display: flex; gap: .6rem; align-items: center; }
main { padding: 1rem 1.2rem; max-width: 80rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border: 1px solid #d5d9df; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
.mono, pre, code { font-family: ui-monospace, monospace; }
pre.args { white-space: break-spaces; word-break: break-all; overflow-wrap: anywhere; background: #fff; border: 2px solid #1b2a41; padding: .6rem; max-height: none; overflow: visible; }
.esc { background: #ffe08a; color: #7a2e00; border: 1px solid #c77700; border-radius: 2px; }
.spaces { background: repeating-linear-gradient(90deg, #fde4e4, #fde4e4 4px, #fff 4px, #fff 8px); }
.warn { background: #fff4e0; border-left: 4px solid #c77700; padding: .4rem .6rem; }
.error { background: #fde4e4; border-left: 4px solid #b3261e; padding: .4rem .6rem; }
.ok { background: #e4f6e8; border-left: 4px solid #1e7a34; padding: .4rem .6rem; }
.facts th { width: 14rem; }
form.decide { display: inline-block; margin-right: 1rem; vertical-align: top; }
textarea { width: 24rem; height: 4rem; }
.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; margin-bottom: .8rem; }
.filters label { display: flex; flex-direction: column; font-size: .85rem; }
svg.chart { background: #fff; border: 1px solid #d5d9df; }
.muted { color: #5b6470; }
.repeat { font-size: .8rem; background: #fff4e0; border: 1px solid #c77700; border-radius: 3px; padding: 0 .3rem; }
.repeat.uncertain { background: #fde4e4; border-color: #b3261e; color: #7a0f0a; font-weight: bold; }
`;
