// The floor plans (SVG from the zones' outlines, metres) and a zone's detail panel.
// Loaded after app.js, whose state and helpers it uses.
"use strict";

// ---------------------------------------------------------------- floor plans

function buildPlans() {
  const box = $("#floor-plans");
  box.replaceChildren();
  for (const floor of state.site.floors) {
    const plan = svg("svg", {
      viewBox: `-0.5 -0.5 ${floor.width_m + 1} ${floor.depth_m + 1}`,
      class: "plan",
      role: "group", // not "img": its zones are buttons a keyboard reaches
      "aria-label": floor.name,
      "data-floor": floor.id,
    });
    plan.append(svg("rect", { x: 0, y: 0, width: floor.width_m, height: floor.depth_m, class: "outline" }));
    for (const zone of floor.zones) {
      const g = svg("g", { class: "zone", "data-zone": zone.id, tabindex: "0", role: "button", "aria-label": zone.name });
      g.addEventListener("click", () => openZone(zone.id));
      g.addEventListener("keydown", (e) => { // Enter (or Space) on a focused zone opens it
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openZone(zone.id); }
      });
      const points = zone.polygon.map(([x, y]) => `${x},${y}`).join(" ");
      g.append(svg("polygon", { points, "data-zone": zone.id }));
      const [cx, cy] = centroid(zone.polygon);
      const size = Math.max(0.9, Math.min(2.2, Math.sqrt(zone.area_m2) / 6));
      const xs = zone.polygon.map((p) => p[0]);
      const width = Math.max(...xs) - Math.min(...xs);
      const name = zoneName(zone.name, cx, cy - size * 0.9, size * 0.6, width);
      const count = svg("text", { x: cx, y: cy + size * 0.35, class: "zone-count", "font-size": size * 1.3 });
      const level = svg("text", { x: cx, y: cy + size * 1.2, class: "zone-level", "font-size": size * 0.55 });
      g.append(name, count, level);
      plan.append(g);
    }
    const title = el("h2", { class: "floor-title" });
    const figure = el("figure", { class: "floor", "data-floor": floor.id }, title, plan);
    box.append(figure);
  }
}

// The zone's name, on one line or two, as large as fits the zone's width (up to maxSize).
function zoneName(text, x, y, maxSize, width) {
  const fit = (line) => Math.min(maxSize, (0.92 * width) / (0.56 * Math.max(1, line.length)));
  const node = svg("text", { x, y, class: "zone-name" });
  let lines = [text];
  if (fit(text) < maxSize * 0.7 && text.includes(" ")) {
    const mid = text.length / 2;
    let cut = -1;
    for (let i = 0; i < text.length; i++) {
      if (text[i] === " " && (cut < 0 || Math.abs(i - mid) < Math.abs(cut - mid))) cut = i;
    }
    lines = [text.slice(0, cut), text.slice(cut + 1)];
  }
  const size = Math.min(...lines.map(fit));
  node.setAttribute("font-size", size);
  lines.forEach((line, i) => {
    const span = svg("tspan", { x, dy: i === 0 ? (lines.length > 1 ? -size * 1.1 : 0) : size * 1.1 });
    span.textContent = line;
    node.append(span);
  });
  return node;
}

function centroid(polygon) {
  const n = polygon.length;
  return [polygon.reduce((s, p) => s + p[0], 0) / n, polygon.reduce((s, p) => s + p[1], 0) / n];
}

// What the page may say of a zone. No usable source: "no data", never a calm 0.
// Waiting tickets are a lower bound ("≥ n"): they show a level only when even the
// bound reaches one; below that the zone's level is not known. Binary presence
// sensors alone: "occupied" / "vacant", never a number of people.
function zoneShown(z) {
  if (!z || z.method === "none") return { level: "unknown", count: null, label: T("level.unknown") };
  if (z.method === "binary") {
    return { level: "unknown", count: null, label: T(`presence.${z.presence || "vacant"}`) };
  }
  if (z.method === "queue") {
    const known = z.level !== "calm";
    return {
      level: known ? z.level : "unknown",
      count: `≥${fmt(z.occupancy)}`,
      label: known ? T(`level.${z.level}`) : T("level.lower_bound"),
    };
  }
  return { level: z.level, count: fmt(z.occupancy), label: T(`level.${z.level}`) };
}

function renderZone(zoneId) {
  const z = state.zones.get(zoneId);
  const cfg = state.zonesCfg.get(zoneId);
  const g = document.querySelector(`g.zone[data-zone="${CSS.escape(zoneId)}"]`);
  if (!g || !cfg) return;
  // nobody counts people here, by the site file's choice: say so, not "no data"
  const shown =
    cfg.counted === false ? { level: "unknown", count: null, label: T("level.not_counted") } : zoneShown(z);
  g.setAttribute("data-level", shown.level);
  g.querySelector(".zone-count").textContent = `${shown.count ?? "–"}/${cfg.capacity}`;
  g.querySelector(".zone-level").textContent = shown.label;
}

function renderTotals() {
  let people = 0;
  // a zone with no usable source keeps its last figure: not counted in the totals
  for (const z of state.zones.values()) if (counted(z)) people += z.occupancy;
  $("#site-total").textContent = T("total", { n: fmt(people) });
  for (const floor of state.site.floors) {
    const zones = floor.zones.map((z) => state.zones.get(z.id)).filter(counted);
    const n = zones.reduce((s, z) => s + z.occupancy, 0);
    const title = document.querySelector(`figure[data-floor="${CSS.escape(floor.id)}"] .floor-title`);
    title.textContent = `${floor.name} — ${fmt(n)} ${T("people")}`;
  }
}

// a zone with a people figure now (not "no data", not occupied / vacant only)
function counted(z) {
  return Boolean(z) && z.method !== "none" && z.method !== "binary";
}

function renderLegend() {
  $("#legend").replaceChildren(...[...LEVELS, "unknown"].map((l) => el("li", { "data-level": l }, T(`level.${l}`))));
}

// ---------------------------------------------------------------- zone detail

async function openZone(zoneId) {
  state.openZone = zoneId;
  $("#zone-detail").hidden = false;
  renderZoneDetail();
  const box = $("#zone-history");
  box.replaceChildren(el("p", { class: "muted" }, "…"));
  const start = new Date(Date.now() - 8 * 3600 * 1000).toISOString();
  try {
    const h = await api(`/api/v1/zones/${encodeURIComponent(zoneId)}/history?resolution=15m&start=${encodeURIComponent(start)}`);
    if (state.openZone === zoneId) box.replaceChildren(sparkline(h));
  } catch (e) {
    if (state.openZone === zoneId) box.replaceChildren(el("p", { class: "muted" }, T("zone.no_history")));
  }
}

function renderZoneDetail() {
  const id = state.openZone;
  const cfg = state.zonesCfg.get(id);
  const z = state.zones.get(id);
  if (!cfg) return;
  $("#zone-title").textContent = cfg.name;
  const shown = zoneShown(z);
  $("#zone-summary").textContent = z && shown.count !== null
    ? `${shown.count}/${fmt(cfg.capacity)} ${T("people")} · ${shown.label} · ${fmt(z.density_per_m2, 2)} ${T("zone.per_m2")}`
      + (z.level_of_service ? ` · ${T("zone.los", { los: z.level_of_service })}` : "")
    : `–/${fmt(cfg.capacity)} ${T("people")} · ${shown.label}`;
  $("#zone-method").textContent = z
    ? `${T("zone.method")}: ${label("method", z.method)} · ${T("zone.confidence")} ${fmt(z.confidence * 100)}%`
      + (z.disagreement ? ` · ⚠ ${T("zone.disagreement")}` : "")
      + (z.presence && z.method !== "binary" ? ` · ${T("zone.presence", { p: T(`source.${z.presence}`) })}` : "")
      + (z.presence === "occupied" && counted(z) && z.occupancy === 0 ? ` · ⚠ ${T("zone.uncounted")}` : "")
    : "";
  $("#zone-sources").replaceChildren(...(z?.sources || []).map((src) =>
    el("li", { class: `source ${src.fresh ? "fresh" : "stale"} ${src.used ? "used" : ""}` },
      `${src.source_id} (${label("method", src.kind)}): ${sourceValue(src)} · ${T(src.fresh ? "zone.fresh" : "zone.stale")}`
      + (src.used ? "" : ` · ${T("zone.unused")}`))));
}

// a binary sensor says occupied or vacant (its count is 1 or 0), never a number of people
function sourceValue(src) {
  if (src.kind === "binary") return T(src.count > 0 ? "source.occupied" : "source.vacant");
  return fmt(src.count);
}

function sparkline(h) {
  // The busiest source per bucket: max of the means.
  const byTime = new Map();
  for (const series of h.occupancy) for (const p of series.points) {
    const t = Date.parse(p.time);
    byTime.set(t, Math.max(byTime.get(t) ?? 0, p.mean ?? 0));
  }
  const points = [...byTime.entries()].sort((a, b) => a[0] - b[0]);
  if (points.length < 2) return el("p", { class: "muted" }, T("zone.no_history"));
  const cap = state.zonesCfg.get(h.zone_id)?.capacity || 1;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const top = Math.max(cap, ...points.map((p) => p[1]));
  const chart = svg("svg", { viewBox: "0 0 100 30", class: "spark", preserveAspectRatio: "none" });
  chart.append(svg("line", { x1: 0, x2: 100, y1: 30 - (cap / top) * 28, y2: 30 - (cap / top) * 28, class: "cap" }));
  chart.append(svg("polyline", {
    points: points.map(([t, v]) => `${((t - t0) / (t1 - t0)) * 100},${30 - (v / top) * 28}`).join(" "),
  }));
  return chart;
}
