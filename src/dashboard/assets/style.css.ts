/**
 * The dashboard's one stylesheet, kept as a TS module so `tsc` puts it in dist. Light and dark themes follow
 * `prefers-color-scheme`, overridden by `data-theme` on `<html>` (the theme button). No inline styles anywhere:
 * the Content-Security-Policy forbids them.
 */
export const STYLE_CSS = `
:root {
  color-scheme: light;
  --bg: #f5f6f8;
  --surface: #ffffff;
  --surface-2: #f0f2f5;
  --border: #dfe3e8;
  --text: #1c2026;
  --muted: #5d6773;
  --faint: #8a939e;
  --accent: #3451d1;
  --accent-ink: #ffffff;
  --focus: #3451d1;
  --danger: #c92a2a;
  --c-scheduled: #7048e8;
  --c-available: #1c7ed6;
  --c-running: #0b8f9e;
  --c-retryable: #d9730d;
  --c-completed: #2b8a3e;
  --c-cancelled: #6c757d;
  --c-discarded: #e03131;
  --chart-ok: #40a05a;
  --chart-fail: #e5484d;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.06);
  --mono: ui-monospace, "SFMono-Regular", "JetBrains Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root:not([data-theme="light"]) {
    color-scheme: dark;
    --bg: #0e1116;
    --surface: #161a21;
    --surface-2: #1d222b;
    --border: #2a313c;
    --text: #e4e8ee;
    --muted: #9aa5b1;
    --faint: #6b7581;
    --accent: #7d98ff;
    --accent-ink: #0e1116;
    --focus: #9db0ff;
    --danger: #ff6b6b;
    --c-scheduled: #a08bff;
    --c-available: #4dabf7;
    --c-running: #3bc9db;
    --c-retryable: #ffa94d;
    --c-completed: #51cf66;
    --c-cancelled: #adb5bd;
    --c-discarded: #ff6b6b;
    --chart-ok: #4cbb6c;
    --chart-fail: #ff6369;
    --shadow: none;
  }
}
:root[data-theme="dark"] {
  color-scheme: dark;
  --bg: #0e1116;
  --surface: #161a21;
  --surface-2: #1d222b;
  --border: #2a313c;
  --text: #e4e8ee;
  --muted: #9aa5b1;
  --faint: #6b7581;
  --accent: #7d98ff;
  --accent-ink: #0e1116;
  --focus: #9db0ff;
  --danger: #ff6b6b;
  --c-scheduled: #a08bff;
  --c-available: #4dabf7;
  --c-running: #3bc9db;
  --c-retryable: #ffa94d;
  --c-completed: #51cf66;
  --c-cancelled: #adb5bd;
  --c-discarded: #ff6b6b;
  --chart-ok: #4cbb6c;
  --chart-fail: #ff6369;
  --shadow: none;
}

* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", Arial, sans-serif;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
h1 { font-size: 20px; margin: 0; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 14px; margin: 0; font-weight: 650; }
h3 { font-size: 13px; margin: 0 0 6px; font-weight: 600; }
.muted { color: var(--muted); }
.faint { color: var(--faint); }
.nowrap { white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

/* Top bar */
.topbar {
  display: flex; align-items: center; gap: 20px;
  height: 52px; padding: 0 24px;
  background: var(--surface); border-bottom: 1px solid var(--border);
  position: sticky; top: 0; z-index: 5;
}
.brand { display: flex; align-items: center; gap: 8px; color: var(--text); font-weight: 700; font-size: 15px; }
.brand:hover { text-decoration: none; }
.brand svg { width: 22px; height: 22px; }
.nav { display: flex; gap: 2px; height: 100%; }
.nav a {
  display: flex; align-items: center; padding: 0 12px; color: var(--muted); font-weight: 550;
  border-bottom: 2px solid transparent; margin-bottom: -1px;
}
.nav a:hover { color: var(--text); text-decoration: none; }
.nav a[aria-current="page"] { color: var(--text); border-bottom-color: var(--accent); }
.topbar-end { margin-left: auto; display: flex; align-items: center; gap: 8px; }
.pill {
  display: inline-flex; align-items: center; gap: 6px; height: 24px; padding: 0 9px;
  border: 1px solid var(--border); border-radius: 999px; color: var(--muted); font-size: 12px; white-space: nowrap;
}
.pill.warn { color: var(--c-retryable); border-color: color-mix(in srgb, var(--c-retryable) 45%, var(--border)); }
.live-dot { width: 7px; height: 7px; border-radius: 50%; background: var(--faint); }
[data-live-state="on"] .live-dot { background: var(--c-completed); box-shadow: 0 0 0 3px color-mix(in srgb, var(--c-completed) 25%, transparent); }
[data-live-state="error"] .live-dot { background: var(--c-discarded); }

/* Layout */
main { max-width: 1320px; margin: 0 auto; padding: 20px 24px 40px; }
.page-head { display: flex; align-items: flex-end; gap: 16px; margin-bottom: 16px; flex-wrap: wrap; }
.page-head .sub { color: var(--muted); margin-top: 4px; }
.page-head .actions { margin-left: auto; display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.crumbs { color: var(--muted); font-size: 12.5px; margin-bottom: 6px; }
.crumbs a { color: var(--muted); }
.crumbs a:hover { color: var(--accent); }
.card {
  background: var(--surface); border: 1px solid var(--border); border-radius: 10px;
  box-shadow: var(--shadow); margin-bottom: 16px;
}
.card-head { display: flex; align-items: center; gap: 12px; padding: 12px 16px; border-bottom: 1px solid var(--border); }
.card-head .end { margin-left: auto; display: flex; align-items: center; gap: 12px; color: var(--muted); font-size: 12.5px; }
.card-body { padding: 14px 16px; }
.grid-2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; align-items: start; margin-bottom: 16px; }
.grid-2 > .card { margin-bottom: 0; }
.stack > * + * { margin-top: 16px; }
.empty { padding: 28px 16px; text-align: center; color: var(--muted); }
footer { max-width: 1320px; margin: 0 auto; padding: 0 24px 24px; color: var(--faint); font-size: 12px; }

/* Stat tiles */
.tiles { display: grid; grid-template-columns: repeat(9, minmax(0, 1fr)); gap: 10px; margin-bottom: 16px; }
.tile {
  display: block; background: var(--surface); border: 1px solid var(--border); border-radius: 10px;
  padding: 10px 12px; color: var(--text); box-shadow: var(--shadow); position: relative; overflow: hidden;
}
a.tile:hover { text-decoration: none; border-color: color-mix(in srgb, var(--c, var(--accent)) 55%, var(--border)); }
.tile::before { content: ""; position: absolute; left: 0; top: 0; bottom: 0; width: 3px; background: var(--c, var(--border)); }
.tile .label { font-size: 12px; color: var(--muted); display: block; }
.tile .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; letter-spacing: -0.02em; }

/* States */
.s-scheduled { --c: var(--c-scheduled); }
.s-available { --c: var(--c-available); }
.s-running { --c: var(--c-running); }
.s-retryable { --c: var(--c-retryable); }
.s-completed { --c: var(--c-completed); }
.s-cancelled { --c: var(--c-cancelled); }
.s-discarded { --c: var(--c-discarded); }
.badge {
  display: inline-flex; align-items: center; gap: 5px; height: 20px; padding: 0 8px; border-radius: 999px;
  font-size: 11.5px; font-weight: 600; white-space: nowrap;
  color: var(--c, var(--muted)); background: color-mix(in srgb, var(--c, var(--muted)) 13%, transparent);
}
.badge::before { content: ""; width: 6px; height: 6px; border-radius: 50%; background: currentColor; }
.badge.plain::before { display: none; }
.badge.paused { --c: var(--c-retryable); }

/* Tables */
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 8px 12px; text-align: left; vertical-align: middle; border-bottom: 1px solid var(--border); }
th { font-size: 11.5px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; background: var(--surface-2); white-space: nowrap; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: color-mix(in srgb, var(--surface-2) 60%, transparent); }
td.count a, td.count span { display: inline-block; min-width: 2.5em; text-align: right; font-variant-numeric: tabular-nums; }
td.count .zero { color: var(--faint); }
td.count a.hot { font-weight: 650; color: var(--c); }
td.err { max-width: 300px; color: var(--danger); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.actions { text-align: right; white-space: nowrap; }
td.actions form { display: inline; }
.tags { display: flex; flex-wrap: wrap; gap: 4px; }
.tag { font-family: var(--mono); font-size: 11.5px; padding: 1px 6px; border-radius: 5px; background: var(--surface-2); border: 1px solid var(--border); color: var(--muted); white-space: nowrap; }

/* Buttons and forms */
button, .btn {
  display: inline-flex; align-items: center; gap: 6px; height: 30px; padding: 0 12px;
  font: inherit; font-size: 13px; font-weight: 550; color: var(--text); cursor: pointer;
  background: var(--surface); border: 1px solid var(--border); border-radius: 7px; white-space: nowrap;
}
button:hover, .btn:hover { background: var(--surface-2); text-decoration: none; }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-ink); }
button.primary:hover { filter: brightness(1.08); background: var(--accent); }
button.danger { color: var(--danger); }
button.danger:hover { background: color-mix(in srgb, var(--danger) 10%, var(--surface)); }
button.small, .btn.small { height: 24px; padding: 0 8px; font-size: 12px; border-radius: 6px; }
button.icon { width: 30px; padding: 0; justify-content: center; }
button.ghost { border-color: transparent; background: transparent; color: var(--muted); }
button.ghost:hover { color: var(--text); background: var(--surface-2); }
input[type="text"], input[type="search"], input[type="password"] {
  height: 32px; padding: 0 10px; font: inherit; color: var(--text); background: var(--surface);
  border: 1px solid var(--border); border-radius: 7px; min-width: 0;
}
input:focus { outline: 2px solid var(--focus); outline-offset: -1px; }
.toolbar { display: flex; align-items: center; gap: 8px; padding: 10px 16px; border-bottom: 1px solid var(--border); flex-wrap: wrap; }
.toolbar form { display: flex; gap: 8px; align-items: center; }
.toolbar input[type="search"] { width: 280px; }
.notice {
  display: flex; align-items: center; gap: 8px; padding: 10px 14px; margin-bottom: 16px; border-radius: 8px;
  border: 1px solid color-mix(in srgb, var(--c-completed) 40%, var(--border));
  background: color-mix(in srgb, var(--c-completed) 9%, var(--surface));
}
.notice.error {
  border-color: color-mix(in srgb, var(--danger) 45%, var(--border));
  background: color-mix(in srgb, var(--danger) 8%, var(--surface));
}

/* Tabs */
.tabs { display: flex; gap: 2px; padding: 0 12px; border-bottom: 1px solid var(--border); overflow-x: auto; }
.tabs a {
  display: flex; align-items: center; gap: 7px; padding: 10px 10px; color: var(--muted); font-weight: 550;
  border-bottom: 2px solid transparent; margin-bottom: -1px; white-space: nowrap;
}
.tabs a:hover { color: var(--text); text-decoration: none; }
.tabs a[aria-current="page"] { color: var(--text); border-bottom-color: var(--c, var(--accent)); }
.tabs .n { font-size: 11.5px; font-variant-numeric: tabular-nums; padding: 0 6px; border-radius: 999px; background: var(--surface-2); color: var(--muted); }
.tabs a[aria-current="page"] .n { background: color-mix(in srgb, var(--c, var(--accent)) 16%, transparent); color: var(--c, var(--accent)); }
.pager { display: flex; justify-content: space-between; align-items: center; padding: 10px 16px; border-top: 1px solid var(--border); color: var(--muted); font-size: 12.5px; }

/* Definition lists */
dl.facts-grid { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px 24px; margin: 0; }
dl.facts-grid dt { color: var(--muted); font-size: 12px; }
dl.facts-grid dd { margin: 2px 0 0; min-width: 0; overflow-wrap: anywhere; }
.mono-id { font-family: var(--mono); font-size: 15px; font-weight: 500; }
.preview { display: block; max-width: 340px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 7px 18px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }

/* Code blocks: JSON, stacks, logs. Always text. */
pre {
  margin: 0; padding: 12px 14px; background: var(--surface-2); border: 1px solid var(--border); border-radius: 8px;
  overflow: auto; max-height: 420px; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.5;
}
pre.stack { color: var(--text); max-height: 360px; }
.truncated { margin-top: 6px; font-size: 12px; color: var(--muted); }
.attempts { list-style: none; margin: 0; padding: 0; }
.attempts li { padding: 12px 16px; border-bottom: 1px solid var(--border); }
.attempts li:last-child { border-bottom: 0; }
.attempt-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; margin-bottom: 6px; }
.attempt-msg { color: var(--danger); font-weight: 550; overflow-wrap: anywhere; }
details > summary { cursor: pointer; color: var(--muted); font-size: 12.5px; margin: 4px 0; }
.logs td { font-family: var(--mono); font-size: 12px; vertical-align: top; }
.logs td.msg { white-space: pre-wrap; overflow-wrap: anywhere; }
.lvl-warn { color: var(--c-retryable); }
.lvl-error { color: var(--danger); }
.lvl-debug { color: var(--faint); }
progress { width: 100%; height: 8px; appearance: none; border: 0; border-radius: 999px; background: var(--surface-2); overflow: hidden; }
progress::-webkit-progress-bar { background: var(--surface-2); border-radius: 999px; }
progress::-webkit-progress-value { background: var(--c-running); border-radius: 999px; }
progress::-moz-progress-bar { background: var(--c-running); border-radius: 999px; }
.progress-row { display: flex; align-items: center; gap: 10px; }
.progress-row progress { flex: 1; }

/* Chart */
.chart { display: block; width: 100%; height: auto; }
.chart .grid { stroke: var(--border); stroke-width: 1; }
.chart .axis { fill: var(--faint); font-size: 10.5px; font-family: inherit; }
.chart .ok { fill: var(--chart-ok); }
.chart .fail { fill: var(--chart-fail); }
.chart .slot { fill: transparent; }
.chart g.bar:hover .slot { fill: color-mix(in srgb, var(--text) 7%, transparent); }
.legend { display: inline-flex; align-items: center; gap: 6px; }
.legend i { width: 10px; height: 10px; border-radius: 3px; display: inline-block; }
.legend i.ok { background: var(--chart-ok); }
.legend i.fail { background: var(--chart-fail); }

/* Login */
.login { max-width: 380px; margin: 12vh auto 0; }
.login form { display: flex; flex-direction: column; gap: 12px; }
.login input { width: 100%; }

@media (max-width: 1100px) {
  .tiles { grid-template-columns: repeat(5, minmax(0, 1fr)); }
  .grid-2 { grid-template-columns: minmax(0, 1fr); }
  .grid-2 > .card { margin-bottom: 16px; }
  dl.facts-grid { grid-template-columns: repeat(3, minmax(0, 1fr)); }
}
@media (max-width: 720px) {
  .topbar { gap: 10px; padding: 0 12px; overflow-x: auto; }
  main { padding: 14px 12px 32px; }
  .tiles { grid-template-columns: repeat(3, minmax(0, 1fr)); }
}
`;
