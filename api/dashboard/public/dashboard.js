// The BionicPRO live dashboard. Talks only to the BFF on this origin (/bff/*): the session cookie is
// HttpOnly and no token ever reaches this page. Figures arrive over one EventSource
// (/bff/api/reports/stream); docs/dashboard.md describes the events and the states shown here.

const $ = (id) => document.getElementById(id);
const staffRoles = ["support", "admin"];

const state = {
  session: null,
  userId: null,
  source: null,
  month: null,
  today: null,
  days: null,
  freshness: null,
  freshnessAt: 0,
  charts: {},
  reconnectTimer: null,
};

function show(id, visible) {
  $(id).hidden = !visible;
}

function setConnection(name, text) {
  const badge = $("connection");
  badge.hidden = name === "idle";
  badge.dataset.state = name;
  badge.textContent = text;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

function showLoggedOut(reason) {
  closeStream();
  show("dashboard", false);
  show("picker", false);
  show("who", false);
  show("expired", false);
  show("no-access", false);
  show("logged-out", true);
  setConnection("idle", "");
  $("logged-out-reason").textContent =
    reason === "failed"
      ? "The login did not complete. Try again."
      : reason === "unavailable"
        ? "The login service cannot be reached right now. Try again shortly."
        : reason === "bye"
          ? "You are logged out."
          : "Log in to see your prosthesis and your bill, live.";
}

function showExpired() {
  closeStream();
  show("dashboard", false);
  show("picker", false);
  show("logged-out", false);
  show("expired", true);
  setConnection("expired", "session expired");
}

/** Logged in, but this login has no reports to show (the API's problem code says why). */
function showNoAccess(code) {
  closeStream();
  show("dashboard", false);
  show("logged-out", false);
  show("expired", false);
  show("no-access", true);
  $("no-access-code").textContent = code;
  setConnection("idle", "");
}

const money = (text) => (text === null || text === undefined ? "—" : `${text} ₽`);
const hours = (n) => (typeof n === "number" ? n.toFixed(1) : "—");
const percent = (n) => (typeof n === "number" ? `${n.toFixed(1)} %` : "—");

function setKpi(name, text, attention = false) {
  for (const el of document.querySelectorAll(`[data-kpi="${name}"]`)) {
    if (el.textContent !== text) {
      el.textContent = text;
      el.classList.add("changed");
      setTimeout(() => el.classList.remove("changed"), 1500);
    }
    el.classList.toggle("attention", attention);
  }
}

function renderMonth(report) {
  $("period").textContent = `${report.period} · CRM user ${report.user_id}`;
  const f = report.financial;
  setKpi("total_payments", money(f.total_payments));
  setKpi("successful_payments", money(f.successful_payments));
  setKpi("pending_payments", money(f.pending_payments));
  setKpi("failed_payments", money(f.failed_payments), f.failed_payments_count > 0);
  setKpi(
    "payment_success_rate",
    f.payment_success_rate === null ? "—" : percent(f.payment_success_rate * 100),
  );
  setKpi("monthly_cost", money(f.monthly_cost));
  setKpi("arr", money(f.arr));
  const u = report.usage;
  setKpi("usage_hours", hours(u.usage_hours));
  setKpi("power_on_count", String(u.power_on_count));
  setKpi("errors", String(u.errors), u.errors > 0);
  setKpi("reliability_percent", percent(u.reliability_percent));
  setKpi("status", report.status, report.status === "attention");

  const body = $("devices").tBodies[0];
  const rows = report.devices.map((d) => {
    const tr = document.createElement("tr");
    tr.dataset.prosthetic = String(d.prosthetic_id);
    const cells = [
      `${d.device_type} #${d.prosthetic_id}`,
      hours(d.usage_hours),
      String(d.power_on_count),
      d.battery_health,
      String(d.charge_cycles),
      String(d.errors),
      String(d.warnings),
      String(d.critical_errors),
      percent(d.reliability_percent),
      d.status,
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tr.lastChild.classList.toggle("attention", d.status === "attention");
    return tr;
  });
  body.replaceChildren(...rows);
}

function chart(id, label, color) {
  if (state.charts[id]) return state.charts[id];
  // Chart.js is loaded by a deferred classic script before this module runs.
  state.charts[id] = new globalThis.Chart($(id), {
    type: "bar",
    data: { labels: [], datasets: [{ label, data: [], backgroundColor: color }] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true } },
    },
  });
  return state.charts[id];
}

function renderToday(report) {
  const perHour = new Array(24).fill(0);
  for (const h of report.hourly_data) perHour[Number(h.hour.slice(11, 13))] += h.movements_count;
  const c = chart("hourly-chart", "Movements", "#0b6bcb");
  c.data.labels = perHour.map((_, i) => `${String(i).padStart(2, "0")}:00`);
  c.data.datasets[0].data = perHour;
  c.update("none");
  setKpi("today_movements", String(report.summary.total_movements));
}

function renderDays(days) {
  const [y, m] = days.month.split("-").map(Number);
  const count = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const byDay = new Map(days.days.map((d) => [d.date, d.usage_hours]));
  const labels = [];
  const values = [];
  for (let d = 1; d <= count; d += 1) {
    const date = `${days.month}-${String(d).padStart(2, "0")}`;
    labels.push(String(d));
    values.push(byDay.get(date) ?? 0);
  }
  const c = chart("daily-chart", "Usage hours", "#067647");
  c.data.labels = labels;
  c.data.datasets[0].data = values;
  c.update("none");
}

function renderFreshness() {
  const f = state.freshness;
  if (!f || !f.data_as_of) {
    $("data-as-of").textContent = "— (no data yet)";
    $("lag").textContent = "";
    return;
  }
  $("data-as-of").textContent = `${f.data_as_of.replace("T", " ").replace("Z", "")} UTC`;
  $("data-as-of").dateTime = f.data_as_of;
  const lag = (f.lag_seconds ?? 0) + (Date.now() - state.freshnessAt) / 1000;
  $("lag").textContent = `(lag ${lag < 10 ? lag.toFixed(1) : Math.round(lag)} s)`;
}

function renderEmptiness() {
  const m = state.month;
  const empty =
    m &&
    m.devices.length === 0 &&
    m.financial.total_payments === "0.00" &&
    (!state.days || state.days.days.length === 0);
  show("no-data", Boolean(empty) || (state.freshness !== null && !state.freshness.data_as_of));
}

function closeStream() {
  if (state.reconnectTimer) clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  if (state.source) state.source.close();
  state.source = null;
}

function openStream() {
  closeStream();
  const query = state.userId !== null && isStaff() ? `?user_id=${state.userId}` : "";
  const source = new EventSource(`/bff/api/reports/stream${query}`);
  state.source = source;
  const on = (name, handle) =>
    source.addEventListener(name, (event) => {
      if (state.source !== source) return;
      handle(JSON.parse(event.data));
      renderEmptiness();
      document.body.dataset.updatedAt = String(Date.now());
    });
  on("month", (report) => {
    state.month = report;
    renderMonth(report);
  });
  on("today", (report) => {
    state.today = report;
    renderToday(report);
  });
  on("days", (days) => {
    state.days = days;
    renderDays(days);
  });
  on("freshness", (f) => {
    state.freshness = f;
    state.freshnessAt = Date.now();
    renderFreshness();
  });
  on("problem", () => setConnection("reconnecting", "figures delayed, retrying…"));
  source.addEventListener("session-expired", () => showExpired());
  source.addEventListener("open", () => {
    show("dashboard", true);
    setConnection("live", "live");
  });
  source.addEventListener("error", () => {
    if (state.source !== source) return;
    if (source.readyState !== EventSource.CLOSED) {
      setConnection("reconnecting", "reconnecting…");
      return;
    }
    // The BFF refused the stream (not logged in any more, or an unknown user): find out which.
    setConnection("reconnecting", "reconnecting…");
    getJson("/bff/session")
      .then(async ({ body }) => {
        if (!body.authenticated) return showExpired();
        // Logged in, yet refused: a login without reports (no owner role or CRM user) stays refused.
        const query = state.userId !== null && isStaff() ? `?user_id=${state.userId}` : "";
        const probe = await getJson(`/bff/api/reports/summary${query}`);
        if (probe.status === 403 || probe.status === 404)
          return showNoAccess(probe.body.code ?? String(probe.status));
        state.reconnectTimer = setTimeout(openStream, 2000);
      })
      .catch(() => {
        state.reconnectTimer = setTimeout(openStream, 2000);
      });
  });
}

const isStaff = () => (state.session?.user.roles ?? []).some((r) => staffRoles.includes(r));

async function pickUser(userId) {
  $("pick-error").textContent = "";
  const { status } = await getJson(`/bff/api/reports/summary?user_id=${userId}`);
  if (status === 401) return showExpired();
  if (status !== 200) {
    $("pick-error").textContent =
      status === 404 ? `No user ${userId}` : `Cannot show user ${userId} (${status})`;
    return;
  }
  state.userId = userId;
  history.replaceState(null, "", `#user=${userId}`);
  openStream();
}

async function logout() {
  const csrf = state.session?.csrf_token ?? "";
  closeStream();
  const response = await fetch("/bff/logout", {
    method: "POST",
    credentials: "same-origin",
    headers: { "x-csrf-token": csrf, accept: "application/json" },
  });
  state.session = null;
  showLoggedOut(response.ok ? "bye" : undefined);
}

async function main() {
  const reason = new URLSearchParams(location.search).get("login");
  const { body } = await getJson("/bff/session");
  if (!body.authenticated) return showLoggedOut(reason);
  state.session = body;
  $("username").textContent = body.user.username ?? "";
  show("who", true);
  show("logged-out", false);
  $("logout").addEventListener("click", () => void logout());
  setInterval(renderFreshness, 1000);
  if (isStaff()) {
    show("picker", true);
    $("pick-form").addEventListener("submit", (event) => {
      event.preventDefault();
      void pickUser(Number($("pick-user").value));
    });
    const fromHash = /^#user=(\d+)$/.exec(location.hash);
    if (fromHash) {
      $("pick-user").value = fromHash[1];
      await pickUser(Number(fromHash[1]));
    }
    return;
  }
  state.userId = body.user.crm_user_id;
  openStream();
}

void main();
