// The counters actually open: each counter seat (a presence sensor over the clerk's chair,
// `counter:` in the site file) as open / closed / unknown, from GET /api/v1/counters every
// few seconds. Hidden on a site without seat sensors. Loaded after app.js, whose state and
// helpers it uses. docs/control-room.md.
"use strict";

const counters = { body: null, timer: null };
const COUNTERS_REFRESH_MS = 5000;

async function pollCounters() {
  clearTimeout(counters.timer);
  try {
    counters.body = await api("/api/v1/counters");
    renderCounters();
  } catch (e) {
    if (e.status === 401) return; // logged out: the login screen takes over
  }
  if (document.body.classList.contains("logged-in")) {
    counters.timer = setTimeout(pollCounters, COUNTERS_REFRESH_MS);
  }
}

function renderCounters() {
  const panel = $("#counters-panel");
  const body = counters.body;
  if (!body || body.seats.length === 0) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  $("#counters-summary").textContent = T("counters.summary", { open: body.open.length, all: body.seats.length });
  const service = (id) => (id ? state.serviceNames.get(id) || id : "");
  $("#counters").replaceChildren(...body.seats.map((s) => {
    const since = s.since && s.status !== "unknown" ? ` · ${T("counters.since", { t: timeText(s.since) })}` : "";
    return el("li", {
      class: `seat ${s.status}`, "data-counter": String(s.counter), title: service(s.service_id),
    }, el("span", { class: "dot" }), `${T("counters.counter", { n: s.counter })} — ${T(`counters.${s.status}`)}${since}`);
  }));
}
