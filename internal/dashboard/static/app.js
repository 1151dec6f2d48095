// EventPulse dashboard: live anomalies over the /ws WebSocket, recent
// anomalies, rules with an enable switch and a chart of event rates. Every
// request goes to the origin that served the page.
"use strict";

const recentLimit = 50;
const chartMinutes = 30;
const bucketSeconds = 60;
const toastMillis = 8000;

const state = { lastAnomalyID: null, shown: new Set(), retryDelay: 1000 };

function $(id) { return document.getElementById(id); }

// apiKey is the key the page sends once API keys exist: taken from the
// page's ?key= parameter, which is then removed from the address bar, and
// kept in this browser's localStorage.
const apiKey = (() => {
  const params = new URLSearchParams(window.location.search);
  const fromURL = params.get("key");
  if (fromURL) {
    localStorage.setItem("eventpulse.apiKey", fromURL);
    params.delete("key");
    const query = params.toString();
    history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }
  return localStorage.getItem("eventpulse.apiKey") || "";
})();

function withKey(headers) {
  return apiKey ? Object.assign({ Authorization: "Bearer " + apiKey }, headers) : headers;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// getJSON returns the decoded body, or null when the endpoint does not
// exist on this server (404), so the page shows "unavailable".
async function getJSON(path) {
  const response = await fetch(path, { headers: withKey({ Accept: "application/json" }) });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(path + " returned " + response.status);
  return response.json();
}

function formatTime(value) {
  const date = new Date(value);
  return isNaN(date) ? String(value) : date.toLocaleString();
}

// Anomalies

function addAnomaly(anomaly, live) {
  if (!anomaly || !anomaly.anomaly_id || state.shown.has(anomaly.anomaly_id)) return;
  state.shown.add(anomaly.anomaly_id);

  const row = document.createElement("tr");
  row.dataset.anomalyId = anomaly.anomaly_id;
  row.append(
    cell(formatTime(anomaly.detected_at)),
    cell(anomaly.severity, "severity " + anomaly.severity),
    cell(anomaly.rule_name || anomaly.rule_id),
    cell(anomaly.message));

  const body = $("anomalies");
  if (live) {
    row.className = "new";
    body.prepend(row);
  } else {
    body.append(row);
  }
  while (body.rows.length > recentLimit) body.deleteRow(body.rows.length - 1);
}

function toast(anomaly) {
  const element = document.createElement("div");
  element.className = "toast";
  element.dataset.anomalyId = anomaly.anomaly_id;
  element.dataset.severity = anomaly.severity;
  // The detector's messages start with the rule name, followed by ": " or
  // by " (" and the group key. Such a message is shown without a second name.
  const name = anomaly.rule_name || anomaly.rule_id;
  const message = String(anomaly.message);
  const named = message.startsWith(name + ": ") || message.startsWith(name + " (");
  element.textContent = "[" + String(anomaly.severity).toUpperCase() + "] " +
    (named ? message : name + ": " + message);
  $("toasts").append(element);
  setTimeout(() => element.remove(), toastMillis);
}

async function loadAnomalies() {
  try {
    const body = await getJSON("/api/v1/anomalies?limit=" + recentLimit);
    if (body === null) {
      $("anomalies-status").textContent = "Recent anomalies unavailable; live ones appear below.";
      return;
    }
    const list = Array.isArray(body) ? body : body.data || [];
    list.forEach((anomaly) => addAnomaly(anomaly, false));
    if (list.length > 0 && !state.lastAnomalyID) state.lastAnomalyID = list[0].anomaly_id;
  } catch (error) {
    $("anomalies-status").textContent = "Recent anomalies could not be loaded: " + error.message;
  }
}

// Live feed

function setConnection(status) {
  const element = $("connection");
  element.className = "status " + status;
  element.dataset.state = status;
  element.textContent = status === "open" ? "live" : status;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const query = new URLSearchParams();
  if (state.lastAnomalyID) query.set("after", state.lastAnomalyID);
  if (apiKey) query.set("api_key", apiKey);
  const url = scheme + location.host + "/ws" + (query.toString() ? "?" + query.toString() : "");

  setConnection("connecting");
  const socket = new WebSocket(url);
  let opened = false;

  socket.onopen = () => {
    opened = true;
    state.retryDelay = 1000;
    setConnection("open");
  };
  socket.onmessage = (message) => {
    let anomaly;
    try { anomaly = JSON.parse(message.data); } catch { return; }
    state.lastAnomalyID = anomaly.anomaly_id;
    if (!state.shown.has(anomaly.anomaly_id)) toast(anomaly);
    addAnomaly(anomaly, true);
  };
  socket.onclose = () => {
    setConnection("closed");
    // The server rejects an after id it does not know, so a connection that
    // never opened retries without it.
    if (!opened) state.lastAnomalyID = null;
    // A reconnect passes the last anomaly seen, so nothing is missed.
    setTimeout(connect, state.retryDelay);
    state.retryDelay = Math.min(state.retryDelay * 2, 15000);
  };
}

// Rules

function renderRules(rules) {
  const body = $("rules");
  body.replaceChildren();
  for (const rule of rules) {
    const toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.className = "switch";
    toggle.checked = !!rule.enabled;
    toggle.dataset.ruleId = rule.rule_id;
    toggle.setAttribute("aria-label", "enable " + rule.name);
    toggle.addEventListener("change", () => setRuleEnabled(rule, toggle));

    const first = document.createElement("td");
    first.append(toggle);
    const row = document.createElement("tr");
    row.append(first, cell(rule.name), cell(rule.severity, "severity " + rule.severity));
    body.append(row);
  }
  if (rules.length === 0) $("rules-status").textContent = "No rules yet.";
}

async function setRuleEnabled(rule, toggle) {
  toggle.disabled = true;
  try {
    const response = await fetch("/api/v1/rules/" + encodeURIComponent(rule.rule_id), {
      method: "PATCH",
      headers: withKey({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify({ enabled: toggle.checked }),
    });
    if (!response.ok) throw new Error("returned " + response.status);
    const updated = await response.json();
    toggle.checked = !!updated.enabled;
    rule.enabled = updated.enabled;
    $("rules-status").textContent = "";
  } catch (error) {
    toggle.checked = !!rule.enabled;
    $("rules-status").textContent = "Could not change " + rule.name + ": " + error.message;
  } finally {
    toggle.disabled = false;
  }
}

async function loadRules() {
  try {
    const body = await getJSON("/api/v1/rules");
    if (body === null) {
      $("rules-status").textContent = "Rules unavailable.";
      return;
    }
    renderRules(Array.isArray(body) ? body : body.data || []);
  } catch (error) {
    $("rules-status").textContent = "Rules could not be loaded: " + error.message;
  }
}

// Event rate chart

// bucketsOf returns [{time, count}] for a timeseries response, one entry per
// bucket start in body.buckets, with the counts of every series added up.
// Each series has one count per bucket, in the order of body.buckets.
function bucketsOf(body) {
  const starts = Array.isArray(body.buckets) ? body.buckets : [];
  const series = Array.isArray(body.series) ? body.series : [];
  const buckets = [];
  starts.forEach((start, i) => {
    const time = Date.parse(start);
    if (isNaN(time)) return;
    let count = 0;
    for (const entry of series) count += Number((entry.counts || [])[i] || 0);
    buckets.push({ time, count });
  });
  return buckets;
}

function drawChart(buckets) {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  context.clearRect(0, 0, width, height);

  // The totals drawn, for tests and for anyone reading the page's DOM.
  canvas.dataset.buckets = String(buckets.length);
  canvas.dataset.events = String(buckets.reduce((sum, bucket) => sum + bucket.count, 0));

  const left = 48, bottom = 20, top = 10;
  const rates = buckets.map((bucket) => bucket.count / bucketSeconds);
  const peak = Math.max(1, ...rates);

  context.fillStyle = "#667";
  context.font = "11px system-ui, sans-serif";
  context.fillText(peak.toFixed(1) + "/s", 4, top + 8);
  context.fillText("0", 4, height - bottom);
  context.strokeStyle = "#d5d9e0";
  context.beginPath();
  context.moveTo(left, height - bottom);
  context.lineTo(width, height - bottom);
  context.stroke();

  if (buckets.length === 0) return;
  const step = (width - left) / Math.max(buckets.length - 1, 1);
  context.strokeStyle = "#2b6cb0";
  context.lineWidth = 2;
  context.beginPath();
  rates.forEach((rate, i) => {
    const x = left + i * step;
    const y = height - bottom - (rate / peak) * (height - bottom - top);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
}

async function loadRates() {
  const to = new Date();
  const from = new Date(to.getTime() - chartMinutes * 60 * 1000);
  const query = "from=" + encodeURIComponent(from.toISOString()) + "&to=" + encodeURIComponent(to.toISOString()) +
    "&bucket_seconds=" + bucketSeconds;
  $("rates-range").textContent = "last " + chartMinutes + " minutes, per " + bucketSeconds + " s";
  try {
    const body = await getJSON("/api/v1/metrics/timeseries?" + query);
    if (body === null) {
      $("rates-status").textContent = "Event rates unavailable.";
      drawChart([]);
      return;
    }
    $("rates-status").textContent = "";
    drawChart(bucketsOf(body));
  } catch (error) {
    $("rates-status").textContent = "Event rates could not be loaded: " + error.message;
  }
}

async function start() {
  await loadAnomalies();
  connect();
  loadRules();
  loadRates();
  setInterval(loadRates, 30000);
}

start();
