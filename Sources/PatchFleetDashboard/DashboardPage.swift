/// The dashboard page: one self-contained document (no CDN, no build step:
/// it must work on an air-gapped management network). The script builds the
/// DOM with textContent only, so a hostile host or VM name is shown, never run.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PatchFleet</title>
<style>
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2430; --muted:#667085; --line:#e3e6ea;
  --patched:#2e7d32; --active:#1565c0; --pending:#9aa4b2; --held:#ef6c00; --failed:#c62828; --skipped:#6d4c41; --cancelled:#546e7a; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { display:flex; align-items:center; gap:16px; padding:10px 20px; background:#14213d; color:#fff; }
header h1 { font-size:18px; margin:0; font-weight:600; }
#live { margin-left:auto; font-size:12px; padding:2px 8px; border-radius:10px; background:#455a64; }
#live.on { background:#2e7d32; }
main { display:grid; grid-template-columns: 260px 1fr; gap:16px; padding:16px 20px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; margin-bottom:14px; }
.card h2 { font-size:14px; margin:0 0 8px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
#jobs button { display:block; width:100%; text-align:left; border:1px solid var(--line); background:#fff; border-radius:6px;
  padding:6px 8px; margin-bottom:6px; cursor:pointer; font:inherit; }
#jobs button.sel { border-color:var(--active); box-shadow:0 0 0 1px var(--active) inset; }
.small { font-size:12px; color:var(--muted); }
.counts span { display:inline-block; margin-right:12px; }
.dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:4px; vertical-align:middle; }
.bar { height:8px; background:#edf0f3; border-radius:4px; overflow:hidden; display:flex; margin:6px 0 8px; }
.bar > div { height:100%; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
td:first-child { white-space:nowrap; }
th { font-size:12px; color:var(--muted); font-weight:600; }
.clusters { display:grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap:14px; }
.pill { font-size:12px; padding:1px 7px; border-radius:9px; color:#fff; white-space:nowrap; }
.attention li { margin-bottom:8px; }
.reason { color:#7a2e0e; }
.action { color:var(--ink); }
#problem { color:var(--failed); }
code { font-size:12px; }
</style>
</head>
<body>
<header><h1>PatchFleet</h1><span id="jobtitle"></span><span id="live">connecting…</span></header>
<main>
  <aside>
    <div class="card"><h2>Jobs</h2><div id="jobs"><span class="small">no jobs yet</span></div></div>
    <div class="card"><h2>Dead letters</h2><div id="dead"></div></div>
  </aside>
  <section>
    <div id="problem"></div>
    <div class="card" id="summary"><h2>Job</h2><span class="small">waiting for the first snapshot…</span></div>
    <div class="card" id="attention" hidden><h2>Needs attention</h2><ul class="attention" id="attentionList"></ul></div>
    <div class="clusters" id="clusters"></div>
  </section>
</main>
<script>
"use strict";
const colors = { patched:"var(--patched)", active:"var(--active)", pending:"var(--pending)", held:"var(--held)",
                 failed:"var(--failed)", skipped:"var(--skipped)", cancelled:"var(--cancelled)" };
const order = ["patched", "active", "pending", "held", "failed", "skipped", "cancelled"];
let selected = new URLSearchParams(location.hash.slice(1)).get("job");
let source = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}
function duration(s) {
  if (s === null || s === undefined) return "";
  s = Math.round(s); const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(r).padStart(2, "0")}s`;
}
function pill(kind, text) { return el("span", { class: "pill", style: `background:${colors[kind] || "#78909c"}` }, text || kind); }
function bar(counts, total) {
  const b = el("div", { class: "bar" });
  for (const k of order) if (counts[k]) b.append(el("div", { style: `width:${100 * counts[k] / total}%;background:${colors[k]}`, title: `${k}: ${counts[k]}` }));
  return b;
}
function hostKind(h) { return h.outcome || (h.phase === "pending" ? "pending" : "active"); }

function renderJobs(jobs) {
  const box = document.getElementById("jobs"); box.replaceChildren();
  if (!jobs.length) { box.append(el("span", { class: "small" }, "no jobs yet")); return; }
  for (const j of jobs) {
    const done = j.hosts - (j.counts.active || 0) - (j.counts.pending || 0);
    box.append(el("button", { class: j.id === currentJob ? "sel" : "", "data-job": j.id, onclick: () => choose(j.id) },
      el("b", {}, j.id), el("br"), el("span", { class: "small" }, `${j.state} · ${done}/${j.hosts} hosts`)));
  }
}
function renderSummary(job) {
  const box = document.getElementById("summary"); box.replaceChildren(el("h2", {}, "Job"));
  if (!job) { box.append(el("span", { class: "small" }, "no job selected")); return; }
  const s = job.summary;
  document.getElementById("jobtitle").textContent = `${s.id} — ${s.state}`;
  box.append(el("div", {}, el("b", {}, s.id), " ", pill(s.state === "finished" ? "patched" : "active", s.state),
    el("span", { class: "small" }, `  submitted ${s.submittedAt} · ${s.hosts} hosts in ${s.clusters} clusters`)));
  if (s.reason) box.append(el("div", { class: "reason" }, s.reason));
  box.append(bar(s.counts, Math.max(1, s.hosts)));
  const counts = el("div", { class: "counts", id: "counts" });
  for (const k of order) counts.append(el("span", { "data-kind": k }, el("span", { class: "dot", style: `background:${colors[k]}` }), `${k} ${s.counts[k] || 0}`));
  box.append(counts);
  box.append(el("div", { class: "small" }, Object.entries(job.policy).map(([k, v]) => `${k}: ${v}`).join(" · ")));
  box.append(el("div", { class: "small" }, el("a", { href: `/jobs/${encodeURIComponent(s.id)}/report` }, "run report")));
}
function renderAttention(job) {
  const card = document.getElementById("attention"), list = document.getElementById("attentionList");
  list.replaceChildren();
  const items = job ? job.attention : [];
  card.hidden = items.length === 0;
  for (const a of items) list.append(el("li", { "data-host": a.host }, el("b", {}, a.host), " ", pill(a.outcome),
    a.inMaintenance ? el("span", { class: "small" }, " in maintenance") : null,
    el("div", { class: "reason" }, a.reason), el("div", { class: "action" }, "What to do: ", a.action)));
}
function renderClusters(job) {
  const box = document.getElementById("clusters"); box.replaceChildren();
  if (!job) return;
  for (const c of job.clusters) {
    const counts = {}; for (const h of c.hosts) { const k = hostKind(h); counts[k] = (counts[k] || 0) + 1; }
    const rows = c.hosts.map(h => el("tr", { "data-host": h.host },
      el("td", {}, el("b", {}, h.host), h.preexistingMaintenance ? el("div", { class: "small" }, "was in maintenance before") : null),
      el("td", {}, pill(hostKind(h), h.outcome || h.phase), h.step ? el("div", { class: "small" }, h.step) : null),
      el("td", {}, duration(h.elapsedSeconds)),
      el("td", { title: "VMs moved out / moved back (Rule 3)" }, `${h.vmsMovedOut} / ${h.vmsMovedBack}`),
      el("td", {}, h.reboots ? `${h.reboots}` : ""),
      el("td", { class: "small" }, h.reason || "", ...h.notes.map(n => el("div", {}, n)))));
    box.append(el("div", { class: "card cluster", "data-cluster": c.name },
      el("h2", {}, c.name, el("span", { class: "small" }, `  ${c.finished}/${c.hosts.length} done · ${c.active} active`)),
      bar(counts, Math.max(1, c.hosts.length)),
      el("table", {}, el("thead", {}, el("tr", {}, ...["host", "step", "elapsed", "VMs out/back", "reboots", "notes"].map(t => el("th", {}, t)))),
        el("tbody", {}, ...rows))));
  }
}
function renderDead(d) {
  const box = document.getElementById("dead"); box.replaceChildren();
  box.append(el("div", { id: "deadDepth" }, d.depth === null || d.depth === undefined ? "queue depth unknown" : `${d.depth} in the dead-letter queue`));
  if (!d.recent.length) { box.append(el("div", { class: "small" }, "none seen since the coordinator started")); return; }
  for (const l of d.recent.slice(0, 10)) box.append(el("div", { class: "small", style: "margin-top:6px" },
    el("b", {}, l.schema || "message"), l.jobId ? ` (job ${l.jobId})` : "", el("div", { class: "reason" }, l.reason),
    el("div", {}, `from ${l.queue || "?"} · ${l.seenAt}`)));
  box.append(el("div", { class: "small", style: "margin-top:6px" }, "Settle with ", el("code", {}, "patchfleet dead-letters list|replay|purge")));
}

let currentJob = null;
let snapshots = 0;
function render(snap) {
  document.body.dataset.snapshots = String(++snapshots);
  currentJob = snap.job ? snap.job.summary.id : null;
  renderJobs(snap.jobs); renderSummary(snap.job); renderAttention(snap.job); renderClusters(snap.job); renderDead(snap.deadLetters);
  document.body.dataset.job = currentJob || "";
  document.body.dataset.state = snap.job ? snap.job.summary.state : "";
}
function choose(id) { selected = id; location.hash = "job=" + encodeURIComponent(id); connect(); }
function connect() {
  if (source) source.close();
  const live = document.getElementById("live");
  source = new EventSource("/api/stream" + (selected ? "?job=" + encodeURIComponent(selected) : ""));
  source.addEventListener("snapshot", e => { document.getElementById("problem").textContent = ""; render(JSON.parse(e.data)); });
  source.addEventListener("problem", e => { document.getElementById("problem").textContent = e.data; });
  source.onopen = () => { live.textContent = "live"; live.className = "on"; };
  source.onerror = () => { live.textContent = "reconnecting…"; live.className = ""; };
}
connect();
</script>
</body>
</html>
"""#
}
