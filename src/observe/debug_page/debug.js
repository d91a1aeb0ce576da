// The live profiler: polls status.json once a second, keeps the last few minutes in the page, and draws one series
// per connection. Tests read document.body.dataset (samples, non-zero points per chart, errors).
"use strict";

const HISTORY_SAMPLES = 180;   // three minutes at one sample per second
const MAX_SERIES = 12;         // the busiest connections get a line each; the table lists all of them
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
                "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488"];

const charts = {
  rtt: { element: "chart-rtt", value: c => c.rtt_ms },
  loss: { element: "chart-loss", value: c => c.loss * 100 },
  bandwidth: { element: "chart-bandwidth", value: c => (c.send_bps + c.receive_bps) * 8 / 1000 },
  queue: { element: "chart-queue", value: c => c.send_queue_bytes },
};

const history = { times: [], samples: [] };  // samples[i]: Map client id -> connection record
let errors = 0;
window.addEventListener("error", () => { errors += 1; publishTestState(); });

function shownClients() {
  // The connections of the latest sample, busiest first, at most MAX_SERIES.
  const latest = history.samples[history.samples.length - 1];
  if (!latest) return [];
  return [...latest.values()]
    .sort((a, b) => (b.send_bps + b.receive_bps) - (a.send_bps + a.receive_bps) || a.id - b.id)
    .slice(0, MAX_SERIES)
    .map(c => c.id);
}

function draw(chart, clients) {
  const width = document.getElementById(chart.element).parentElement.clientWidth - 16;
  const data = [history.times];
  for (const id of clients)
    data.push(history.samples.map(sample => sample.has(id) ? chart.value(sample.get(id)) : null));
  const key = clients.join(",");
  if (!chart.plot || chart.key !== key) {
    if (chart.plot) chart.plot.destroy();
    const series = [{}].concat(clients.map((id, i) => ({
      label: "client " + id, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
    })));
    chart.plot = new uPlot({ width, height: 220, series, scales: { x: { time: true } },
                             axes: [{}, { size: 60 }] }, data, document.getElementById(chart.element));
    chart.key = key;
  } else {
    chart.plot.setData(data);
  }
  chart.nonzero = data.slice(1).reduce((n, line) => n + line.filter(v => v !== null && v > 0).length, 0);
}

function fixed(value, digits) { return Number(value).toFixed(digits); }

function renderTable(connections) {
  const rows = connections.map(c => "<tr>" + [
    c.id, c.peer, c.state, fixed(c.quality, 2), fixed(c.rtt_ms, 2), fixed(c.min_rtt_ms, 2), fixed(c.rtt_var_ms, 2), fixed(c.loss * 100, 2),
    fixed(c.send_bps * 8 / 1000, 1), fixed(c.receive_bps * 8 / 1000, 1), c.send_queue_bytes,
    fixed(c.send_queue_age_ms, 1), c.congestion_window, c.bytes_in_flight, c.tls,
  ].map(cell => "<td>" + String(cell).replace(/[&<>]/g, ch => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[ch])
    + "</td>").join("") + "</tr>");
  document.getElementById("connections").innerHTML = rows.join("");
}

function renderSummary(status) {
  const s = status.server;
  document.getElementById("summary").innerHTML =
    `<b>${s.connected}</b> connected, <b>${s.pending_handshakes}</b> handshaking; ` +
    `${s.accepted} accepted and ${s.refused} refused since start; ` +
    `${s.datagrams_received} datagrams received; up ${fixed(status.uptime_s, 0)} s`;
}

function publishTestState() {
  const body = document.body.dataset;
  body.samples = history.times.length;
  body.errors = errors;
  for (const [name, chart] of Object.entries(charts)) body["nonzero" + name[0].toUpperCase() + name.slice(1)] =
    chart.nonzero || 0;
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("status.json", { cache: "no-store" });
    if (!response.ok) throw new Error("status.json: HTTP " + response.status);
    const sample = await response.json();
    history.times.push(Date.now() / 1000);
    history.samples.push(new Map(sample.connections.map(c => [c.id, c])));
    if (history.times.length > HISTORY_SAMPLES) { history.times.shift(); history.samples.shift(); }
    const clients = shownClients();
    for (const chart of Object.values(charts)) draw(chart, clients);
    renderSummary(sample);
    renderTable(sample.connections);
    status.className = "";
    status.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (failure) {
    // A server that went away is a state worth showing, not a script error.
    status.className = "stale";
    status.textContent = "no data: " + failure.message;
  }
  publishTestState();
}

poll();
setInterval(poll, 1000);
