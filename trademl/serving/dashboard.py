"""``GET /dashboard``: one self-contained page (no CDN, works offline) that reads
``/v1/status`` every two seconds and fills in the served versions, latency, the champion's
prediction distribution, drift status and open alerts."""

from __future__ import annotations

__all__ = ["PAGE"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trademl serve</title>
<style>
 body{font:14px system-ui,sans-serif;margin:18px;color:#222;background:#fff}
 h1{font-size:18px;margin:0 0 12px} .grid{display:grid;grid-template-columns:repeat(3,1fr);gap:12px}
 .card{border:1px solid #ccc;border-radius:6px;padding:10px} .card h2{font-size:13px;margin:0 0 6px;color:#555}
 .big{font-size:22px;font-weight:600} table{border-collapse:collapse} td{padding:2px 8px 2px 0}
 .bars{display:flex;align-items:flex-end;height:90px;gap:3px} .bar{background:#1f77b4;width:18px}
 .sig{display:flex;gap:12px} .bad{color:#b00020} .ok{color:#0a7d32}
</style></head><body>
<h1>trademl serve <span id="ready">…</span></h1>
<div class="grid">
 <div class="card"><h2>Champion</h2><div class="big" id="champion">…</div></div>
 <div class="card"><h2>Challenger</h2><div class="big" id="challenger">…</div>
   <div id="traffic"></div></div>
 <div class="card"><h2>Latency (ms, recent)</h2><table id="latency"></table></div>
 <div class="card"><h2>Champion P(up), 10 bins</h2><div class="bars" id="proba"></div></div>
 <div class="card"><h2>Signals</h2><div class="sig" id="signals"></div>
   <div>logged <span id="logged">0</span>, queued <span id="queue">0</span>, swaps <span id="swaps">0</span></div></div>
 <div class="card"><h2>Drift</h2><div id="drift">…</div></div>
 <div class="card" style="grid-column:span 3"><h2>Open alerts</h2><div id="alerts">…</div></div>
 <div class="card" style="grid-column:span 3"><h2>Symbols (last bar)</h2><div id="symbols"></div></div>
</div>
<script>
function text(id, value){ document.getElementById(id).textContent = value; }
function esc(s){ return String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c])); }
function model(m){ return m ? m.name + " v" + m.version : "none"; }
async function refresh(){
  let s;
  try { const r = await fetch("/v1/status"); s = await r.json(); }
  catch (e) { text("ready", "(unreachable)"); return; }
  text("ready", s.ready ? "(ready)" : "(not ready)");
  text("champion", model(s.champion)); text("challenger", model(s.challenger));
  text("traffic", s.traffic.mode === "off" ? "traffic: champion only"
       : "traffic: " + s.traffic.mode + (s.traffic.mode === "canary" ? " " + s.traffic.percent + "%" : ""));
  const lat = Object.entries(s.latency_ms).map(([route, v]) =>
    "<tr><td>" + esc(route) + "</td><td>p50 <b class='p50'>" + v.p50.toFixed(2) + "</b></td><td>p99 <b>"
    + v.p99.toFixed(2) + "</b></td><td>n " + v.n + "</td></tr>").join("");
  document.getElementById("latency").innerHTML = lat || "<tr><td>no requests yet</td></tr>";
  const top = Math.max(1, ...s.proba_histogram);
  document.getElementById("proba").innerHTML = s.proba_histogram.map((n, i) =>
    "<div class='bar' title='" + (i / 10).toFixed(1) + "-" + ((i + 1) / 10).toFixed(1) + ": " + n
    + "' style='height:" + Math.round(88 * n / top) + "px'></div>").join("");
  document.getElementById("signals").innerHTML = ["-1", "0", "1"].map(k =>
    "<div>" + ({"-1": "short", "0": "flat", "1": "long"})[k] + " <b id='signal" + k + "'>"
    + (s.predictions[k] || 0) + "</b></div>").join("");
  text("logged", s.logged); text("queue", s.log_queue); text("swaps", s.swaps);
  const d = s.drift;
  document.getElementById("drift").innerHTML = !d ? "no drift check stored yet"
    : d.error ? "<span class='bad'>" + esc(d.error) + "</span>"
    : "<span class='" + (d.drifted ? "bad" : "ok") + "'>" + d.n_drifted + " of " + d.n_features
      + " features drifted</span> (checked " + esc(d.checked_at) + ")";
  document.getElementById("alerts").innerHTML = s.open_alerts.length === 0 ? "<span class='ok'>none</span>"
    : s.open_alerts.map(a => "<div class='bad'>[" + esc(a.severity) + "] " + esc(a.rule) + ": "
      + esc(a.message) + "</div>").join("");
  document.getElementById("symbols").innerHTML = Object.entries(s.symbols).map(([k, v]) =>
    esc(k) + " " + esc(v)).join("<br>");
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
"""
