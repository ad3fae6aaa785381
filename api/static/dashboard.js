// The operator dashboard: polls /dashboard/state and each queue's history every POLL_MS.
// Everything from Redis (names, message data, errors) is untrusted: it reaches the page
// through textContent / text nodes only, never innerHTML.

const body = document.body;
const POLL_MS = Number(body.dataset.pollMs) || 2000;
const TOKEN_CONFIGURED = body.dataset.tokenConfigured === "true";
const TOKEN_KEY = "godo-streams-token";
const $ = (id) => document.getElementById(id);

let windowName = "1h";
let lastState = null;
let lastDeadCount = null;
const charts = new Map(); // queue -> {card, plots: [{plot, spec, totals}]}

// -- DOM helpers --------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== "list") node[key] = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function cell(value, cls, col) {
  return el("td", { class: cls, dataset: col ? { col } : undefined }, value);
}

const fmt = new Intl.NumberFormat();
const num = (v) => (v === null || v === undefined ? "—" : fmt.format(v));
const rate = (v) => (v === null || v === undefined ? "—" : v.toFixed(v < 10 ? 2 : 0));

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

const ago = (ms, now) => (ms ? `${duration((now - ms) / 1000)} ago` : "—");
const until = (ms, now) => (ms ? `in ${duration(Math.max(ms - now, 0) / 1000)}` : "—");
const when = (ms) => (ms ? new Date(ms).toLocaleString() : "—");

function bytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KB", "MB", "GB", "TB"];
  const i = Math.min(Math.floor(Math.log(n) / Math.log(1024)), units.length - 1);
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${units[i]}`;
}

// -- HTTP ---------------------------------------------------------------------------------

const token = () => sessionStorage.getItem(TOKEN_KEY);

async function request(path, { method = "GET", body: payload, auth = false } = {}) {
  const headers = { Accept: "application/json" };
  if (auth && token()) headers.Authorization = `Bearer ${token()}`;
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: payload === undefined ? undefined : JSON.stringify(payload),
    cache: "no-store",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// -- health, queues, workers, scheduler, redis -------------------------------------------

function renderHealth(health) {
  const banner = $("health");
  banner.dataset.status = health.status;
  $("health-status").textContent = health.status;
  $("health-reasons").replaceChildren(...health.reasons.map((r) => el("li", {}, r)));
}

function liveCount(state, queue) {
  return state.workers.filter((w) => w.queues.includes(queue)).length;
}

function pausedCell(queue) {
  // `paused` comes with the queue state (`streams pause`); an API without it shows "—".
  if (queue.paused === undefined || queue.paused === null) return cell("—", "", "state");
  const pill = queue.paused
    ? el("span", { class: "pill warn" }, "paused")
    : el("span", { class: "pill ok" }, "running");
  return cell(pill, "", "state");
}

function renderQueues(state) {
  const rows = state.queues.map((q) =>
    el(
      "tr",
      { dataset: { queue: q.queue } },
      cell(q.queue, "mono", "queue"),
      pausedCell(q),
      cell(num(q.length), "n", "length"),
      cell(`${q.lag_estimated ? "~" : ""}${num(q.lag)}`, "n", "lag"),
      cell(num(q.pending), "n", "pending"),
      cell(num(q.depth), "n", "depth"),
      cell(duration(q.oldest_pending_age_s), "n", "oldest_pending_age_s"),
      cell(duration(q.time_lag_s), "n", "time_lag_s"),
      cell(num(q.dead_letters), "n", "dead_letters"),
      cell(num(q.consumers), "n", "consumers"),
      cell(num(liveCount(state, q.queue)), "n", "live_workers"),
      cell(rate(q.rate_in_per_s), "n", "rate_in_per_s"),
      cell(rate(q.rate_out_per_s), "n", "rate_out_per_s"),
      cell(num(q.messages?.processed), "n", "processed"),
      cell(num(q.messages?.failed), "n", "failed"),
      cell(num(q.messages?.retried), "n", "retried"),
      cell(num(q.messages?.dead_lettered), "n", "dead_lettered"),
    ),
  );
  $("queues").tBodies[0].replaceChildren(...rows);
}

function workerRow(w, gone, now) {
  const status = gone
    ? el("span", { class: "pill bad", title: "missed its heartbeats" }, "gone")
    : el("span", { class: "pill ok" }, "live");
  return el(
    "tr",
    { class: gone ? "gone" : "", dataset: { worker: w.name } },
    cell(status),
    cell(w.name, "mono"),
    cell(w.host),
    cell(w.queues.join(", ")),
    cell(ago(w.started_ms, now)),
    cell(ago(w.last_beat_ms, now)),
    cell(num(w.processed), "n"),
    cell(num(w.failed), "n"),
    cell(num(w.retried), "n"),
    cell(num(w.dead_lettered), "n"),
    cell(num(w.in_flight), "n"),
  );
}

function renderWorkers(state) {
  const rows = [
    ...state.workers.map((w) => workerRow(w, false, state.now_ms)),
    ...state.gone_workers.map((w) => workerRow(w, true, state.now_ms)),
  ];
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 11, class: "muted" }, "no workers")));
  $("workers").tBodies[0].replaceChildren(...rows);
}

function renderScheduler(state) {
  const { leader, jobs } = state.scheduler;
  $("leader").textContent = leader || "none (no scheduler running)";
  const rows = jobs.map((j) =>
    el(
      "tr",
      {},
      cell(j.name, "mono"),
      cell(duration(j.every_ms / 1000), "n"),
      cell(j.last_tick_ms ? `${when(j.last_tick_ms)} (${ago(j.last_tick_ms, state.now_ms)})` : "—"),
      cell(until(j.next_tick_ms, state.now_ms)),
    ),
  );
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 4, class: "muted" }, "no ticks yet")));
  $("jobs").tBodies[0].replaceChildren(...rows);
}

function renderRedis(state) {
  const r = state.redis;
  const memory = r.maxmemory_bytes
    ? `${bytes(r.used_memory_bytes)} of ${bytes(r.maxmemory_bytes)} (${Math.round((100 * r.used_memory_bytes) / r.maxmemory_bytes)}%)`
    : `${bytes(r.used_memory_bytes)} (no maxmemory)`;
  const policy = r.policy_unsafe
    ? el("span", { class: "flag", title: "may evict whole streams: set noeviction" }, `${r.maxmemory_policy} (unsafe)`)
    : r.maxmemory_policy;
  const hit = r.cache_hit_ratio === null ? "—" : `${(100 * r.cache_hit_ratio).toFixed(1)}%`;
  const facts = [
    ["version", r.version],
    ["role", r.role],
    ["memory", memory],
    ["eviction policy", policy],
    ["clients", num(r.connected_clients)],
    ["ops/s", num(r.ops_per_sec)],
    ["cache hit ratio", hit],
  ];
  $("redis").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { dataset: { fact: k } }, v)]));
}

// -- history charts (uPlot) --------------------------------------------------------------

const CHARTS = [
  { title: "throughput / min", series: [["in", "--c1"], ["out", "--c2"]] },
  { title: "failures / min", series: [["failed", "--c3"], ["retried", "--c4"], ["dead", "--c5"]] },
  { title: "backlog", series: [["depth", "--c1"], ["lag", "--c2"], ["oldest_s", "--c4", "s"]] },
];

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function chartOptions(spec, width) {
  const axis = { stroke: css("--muted"), grid: { stroke: css("--line"), width: 1 }, ticks: { stroke: css("--line") } };
  const series = spec.series.map(([name, color, scale]) => ({
    label: name === "oldest_s" ? "oldest pending (s)" : name,
    stroke: css(color),
    width: 1.5,
    scale: scale || "n",
    points: { show: false },
  }));
  const axes = [axis, { ...axis, scale: "n", size: 48 }];
  if (spec.series.some(([, , scale]) => scale === "s")) axes.push({ ...axis, scale: "s", side: 1, grid: { show: false }, size: 48 });
  return {
    title: spec.title,
    width,
    height: 150,
    series: [{}, ...series],
    axes,
    scales: { x: { time: true }, n: { range: (u, min, max) => [0, Math.max(max, 1)] } },
    legend: { live: true },
  };
}

function seriesData(history, spec) {
  const xs = history.series.in.map((_, i) => history.start_ms / 1000 + i * history.step_s);
  return [xs, ...spec.series.map(([name]) => history.series[name])];
}

function totalsLine(history, spec) {
  const parts = spec.series
    .filter(([name]) => !["depth", "lag", "oldest_s"].includes(name))
    .map(([name]) => {
      const total = history.series[name].reduce((a, b) => a + (b || 0), 0);
      return [el("span", {}, `${name} `), el("b", { dataset: { total: name } }, fmt.format(total))];
    });
  if (!parts.length) {
    const depth = history.series.depth.filter((v) => v !== null);
    const text = depth.length ? `latest depth ${fmt.format(depth[depth.length - 1])}` : "no samples yet (the scheduler leader samples once a minute)";
    return [text];
  }
  return parts.flatMap((p, i) => (i ? [" · ", ...p] : p)).concat([` in ${windowName === "1h" ? "the last hour" : "the last 24 hours"}`]);
}

function queueCharts(queue) {
  let entry = charts.get(queue);
  if (entry) return entry;
  const row = el("div", { class: "chart-row" });
  const card = el("div", { class: "queue-charts", dataset: { queue } }, el("h3", { class: "mono" }, queue), row);
  $("charts").append(card);
  entry = { card, row, plots: [] };
  charts.set(queue, entry);
  return entry;
}

function renderHistory(queue, history) {
  const entry = queueCharts(queue);
  if (!window.uPlot) return;
  if (!entry.plots.length) {
    // Every holder first, so the grid has its final columns before a width is read.
    const holders = CHARTS.map((spec) => {
      const holder = el("div", { class: "chart", dataset: { chart: spec.title } });
      const totals = el("p", { class: "totals" });
      entry.row.append(el("div", { class: "chart-cell" }, holder, totals));
      return { spec, holder, totals };
    });
    for (const { spec, holder, totals } of holders) {
      const plot = new window.uPlot(chartOptions(spec, holder.clientWidth || 300), seriesData(history, spec), holder);
      entry.plots.push({ plot, spec, holder, totals });
      resizer.observe(holder);
    }
  } else {
    for (const p of entry.plots) p.plot.setData(seriesData(history, p.spec));
  }
  for (const p of entry.plots) p.totals.replaceChildren(...totalsLine(history, p.spec));
}

function resetCharts() {
  for (const entry of charts.values()) {
    for (const p of entry.plots) {
      resizer.unobserve(p.holder);
      p.plot.destroy();
    }
    entry.card.remove();
  }
  charts.clear();
}

// Charts follow their grid cell's width (window resize, phone rotation, scrollbars).
const resizer = new ResizeObserver((observed) => {
  for (const { target } of observed) {
    for (const entry of charts.values()) {
      const p = entry.plots.find((x) => x.holder === target);
      if (p && Math.abs(p.plot.width - target.clientWidth) > 1) {
        p.plot.setSize({ width: target.clientWidth || 300, height: 150 });
      }
    }
  }
});

async function refreshHistory(queues) {
  const results = await Promise.allSettled(
    queues.map((q) => request(`/queues/${encodeURIComponent(q)}/history?window=${windowName}`)),
  );
  results.forEach((result, i) => {
    if (result.status === "fulfilled") renderHistory(queues[i], result.value);
  });
}

// -- dead letters ------------------------------------------------------------------------

function actionBlocker() {
  if (!TOKEN_CONFIGURED) return "STREAMS_API_TOKEN is not set on the server: replay and purge are disabled.";
  if (!token()) return "Enter the API token to see dead letters (they hold message data) and to replay or purge.";
  return "";
}

function setActions(shown) {
  const reason = actionBlocker();
  for (const button of [$("replay-shown"), $("purge")]) {
    button.disabled = Boolean(reason);
    button.title = reason;
  }
  if (!reason && !shown) $("replay-shown").disabled = true;
  $("action-reason").textContent = reason;
  $("token-button").textContent = token() ? "Forget token" : "Enter token";
  $("token-button").disabled = !TOKEN_CONFIGURED && !token();
  $("token-button").title = TOKEN_CONFIGURED ? "" : "STREAMS_API_TOKEN is not set on the server";
}

function deadItem(queue, d) {
  const replay = el("button", { type: "button", class: "replay-one", onclick: () => replayIds(queue, [d.id]) }, "Replay");
  return el(
    "li",
    { dataset: { id: d.id } },
    el(
      "div",
      { class: "dead-head" },
      el("span", { class: "mono" }, d.id),
      el("span", { class: "pill bad" }, d.type ?? "no type"),
      el("span", { class: "muted" }, `${d.attempts} attempt(s), dead ${when(d.dead_at_ms)}; was ${d.original_id}`),
      el("span", { class: "spacer" }),
      replay,
    ),
    el("pre", { class: "error" }, d.error),
    el("pre", { class: "data" }, d.data ?? ""),
  );
}

let shownIds = [];

async function refreshDead() {
  const reason = actionBlocker();
  if (reason) {
    shownIds = [];
    $("dead-list").replaceChildren();
    $("dead-note").textContent = "";
    setActions(0);
    return;
  }
  const queue = $("dead-queue").value;
  const params = new URLSearchParams({ order: $("dead-order").value, limit: "100" });
  if ($("dead-type").value) params.set("type", $("dead-type").value);
  if ($("dead-error").value) params.set("error", $("dead-error").value);
  try {
    const result = await request(`/dashboard/dead/${encodeURIComponent(queue)}?${params}`, { auth: true });
    shownIds = result.dead.map((d) => d.id);
    $("dead-list").replaceChildren(...result.dead.map((d) => deadItem(queue, d)));
    $("dead-note").textContent = `${result.dead.length} shown of ${fmt.format(result.count)} dead letters in ${queue} (${fmt.format(result.scanned)} read to search)`;
    setActions(result.dead.length);
  } catch (error) {
    if (error.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    $("dead-note").textContent = `could not list dead letters: ${error.message}`;
    setActions(0);
  }
}

async function act(label, call) {
  try {
    const result = await call();
    $("dead-note").textContent = `${label}: ${JSON.stringify(result)}`;
  } catch (error) {
    $("dead-note").textContent = `${label} failed: ${error.message}`;
  }
  lastDeadCount = null; // the next poll reloads the list, whatever the count is by then
  await refreshDead();
}

function replayIds(queue, ids) {
  return act(`replayed from ${queue}`, () =>
    request(`/queues/${encodeURIComponent(queue)}/dead/replay`, { method: "POST", body: { ids }, auth: true }),
  );
}

function purge() {
  const queue = $("dead-queue").value;
  if (!window.confirm(`Delete every dead letter of ${queue}?`)) return;
  act(`purged ${queue}`, () => request(`/queues/${encodeURIComponent(queue)}/dead`, { method: "DELETE", auth: true }));
}

// -- the loop ----------------------------------------------------------------------------

function renderDown(error) {
  const banner = $("health");
  banner.dataset.status = "unhealthy";
  $("health-status").textContent = "unhealthy";
  $("health-reasons").replaceChildren(el("li", {}, error.message));
}

async function tick() {
  try {
    const state = await request("/dashboard/state");
    lastState = state;
    renderHealth(state.health);
    renderQueues(state);
    renderWorkers(state);
    renderScheduler(state);
    renderRedis(state);
    await refreshHistory(state.queues.map((q) => q.queue));
    const selected = state.queues.find((q) => q.queue === $("dead-queue").value);
    if (selected && selected.dead_letters !== lastDeadCount) {
      lastDeadCount = selected.dead_letters;
      await refreshDead();
    }
    $("updated").textContent = `updated ${new Date(state.now_ms).toLocaleTimeString()}`;
  } catch (error) {
    renderDown(error);
    $("updated").textContent = "retrying…";
  }
  setTimeout(tick, POLL_MS);
}

function setup() {
  for (const button of document.querySelectorAll(".seg button")) {
    button.addEventListener("click", () => {
      windowName = button.dataset.window;
      for (const b of document.querySelectorAll(".seg button")) b.setAttribute("aria-pressed", String(b === button));
      resetCharts();
      if (lastState) refreshHistory(lastState.queues.map((q) => q.queue));
    });
  }
  $("dead-form").addEventListener("submit", (event) => {
    event.preventDefault();
    refreshDead();
  });
  $("dead-queue").addEventListener("change", refreshDead);
  $("replay-shown").addEventListener("click", () => replayIds($("dead-queue").value, shownIds));
  $("purge").addEventListener("click", purge);
  $("token-button").addEventListener("click", () => {
    if (token()) {
      sessionStorage.removeItem(TOKEN_KEY);
      refreshDead();
      return;
    }
    $("token-input").value = "";
    $("token-dialog").showModal();
  });
  $("token-dialog").addEventListener("close", () => {
    const value = $("token-input").value.trim();
    $("token-input").value = "";
    if ($("token-dialog").returnValue === "save" && value) {
      sessionStorage.setItem(TOKEN_KEY, value);
      refreshDead();
    }
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    resetCharts();
    if (lastState) refreshHistory(lastState.queues.map((q) => q.queue));
  });
  setActions(0);
  refreshDead();
  tick();
}

setup();
