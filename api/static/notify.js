// Delivery status of an alert's notifications (in the alert's detail) and the manager's
// "Báo cáo ngày" button (the staffing view: the PDF report of the chosen day).
// Loaded after app.js, whose state and helpers it uses. docs/control-room.md.
"use strict";

const deliveries = { open: new Set(), cache: new Map() }; // alert id -> {rows, at, error}
const DELIVERY_REFRESH_MS = 5000;

// A <details> in the alert: closed by default; opened, it reads GET /alerts/{id}/notifications.
function deliveriesElement(a) {
  const box = el("details", { class: "deliveries", "data-alert": a.id });
  const list = el("ul", { class: "delivery-list" });
  box.append(el("summary", {}, T("deliveries.title")), list);
  box.open = deliveries.open.has(a.id);
  box.addEventListener("toggle", () => {
    if (box.open) {
      deliveries.open.add(a.id);
      loadDeliveries(a.id, list, true);
    } else deliveries.open.delete(a.id);
  });
  if (box.open) loadDeliveries(a.id, list, false);
  return box;
}

async function loadDeliveries(alertId, list, now) {
  const cached = deliveries.cache.get(alertId);
  if (cached) renderDeliveries(list, cached);
  if (!now && cached && Date.now() - cached.at < DELIVERY_REFRESH_MS) return;
  let entry;
  try {
    entry = { rows: await api(`/api/v1/alerts/${encodeURIComponent(alertId)}/notifications`), at: Date.now() };
  } catch (e) {
    if (e.status === 401) return showLogin();
    entry = { rows: cached?.rows || [], at: Date.now(), error: e.status ? T("alerts.failed", { status: e.status }) : T("login.network") };
  }
  deliveries.cache.set(alertId, entry);
  // the list may have been redrawn meanwhile: fill the one now on the page
  const current = document.querySelector(`details.deliveries[data-alert="${CSS.escape(alertId)}"] ul`) || list;
  renderDeliveries(current, entry);
}

function renderDeliveries(list, entry) {
  const items = entry.rows.map((d) => {
    const when = d.sent_at ? timeText(d.sent_at) : timeText(d.due_at);
    const li = el("li", { class: `delivery ${d.state}`, "data-state": d.state, "data-channel": d.channel },
      el("span", { class: "delivery-state" }, T(`delivery.${d.state}`)), " ",
      el("span", { class: "delivery-channel" }, d.channel), " · ",
      el("span", {}, T(`delivery.kind.${d.kind}`)), " ",
      el("time", {}, when));
    if (d.attempts > 1) li.append(" ", el("span", { class: "muted" }, T("delivery.attempts", { n: d.attempts })));
    if (d.reason) li.append(el("p", { class: "delivery-reason" }, d.reason));
    return li;
  });
  if (!items.length) items.push(el("li", { class: "muted" }, T("deliveries.none")));
  if (entry.error) items.push(el("li", { class: "alert-error", role: "alert" }, entry.error));
  list.replaceChildren(...items);
}

// "Báo cáo ngày": the PDF of the staffing view's chosen day, downloaded; refusals inline.
async function downloadDailyReport() {
  const button = $("#report-daily");
  const error = $("#report-error");
  const day = $("#staffing-date").value;
  error.hidden = true;
  if (!day) return;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const query = new URLSearchParams({ date: day, lang: window.I18N.lang, format: "pdf" });
    const response = await fetch(`/api/v1/reports/daily?${query}`, { credentials: "same-origin" });
    if (response.status === 401) return showLogin();
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      const code = body?.error?.code;
      error.textContent = code === "closed_day" ? T("report.closed", { day: window.I18N.day(day) })
        : T("report.failed", { status: response.status });
      error.title = body?.error?.message || "";
      error.hidden = false;
      return;
    }
    const blob = await response.blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: `report-${day}-${window.I18N.lang}.pdf` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  } catch {
    error.textContent = T("login.network");
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#report-daily")?.addEventListener("click", downloadDailyReport);
});
