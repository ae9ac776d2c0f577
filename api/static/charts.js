// Hand-written SVG charts of the planning view: one value per open hour, as bars, level
// marks or points joined by a line. No library, no outside request. Uses svg(), fmt() from
// app.js. Every mark carries data-hour and data-value (the API's figure) and a tooltip.
"use strict";

// The chart's text scales with the page's root font (clamp(13px, 0.95vw, 19px)).
function chartFontPx() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}

// A round axis top and step: 0, 2, 4 … or 0, 20, 40 … with 3 to 6 grid lines.
function niceScale(max, integer) {
  if (!(max > 0)) return { top: integer ? 2 : 1, step: integer ? 1 : 0.25 };
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  if (integer) step = Math.max(1, Math.ceil(step));
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

/**
 * An hourly chart.
 *   id, title, desc: the SVG's id and its accessible name and description;
 *   hours: [{hour, open_minutes}] the x axis, one band per open hour;
 *   series: [{key, label, kind: "bar" | "level" | "points", values: [number|null per hour],
 *             cls?: (i) => extra class of hour i's mark, digits?}];
 *   tip: (i) => the tooltip of hour i; integer: whole-number axis; width: px;
 *   notes: [{key, label, cls}] more legend entries for a class of bars (e.g. "short", red).
 */
function hourChart({ id, title, desc, hours, series, tip, integer = false, width = 600, notes = [] }) {
  const fs = chartFontPx();
  const w = Math.max(280, Math.round(width));
  const h = Math.round(fs * 14);  // the plot area shrinks by a wrapped legend row
  // The legend's entries laid out first (text width estimated): a narrow chart wraps them.
  const entries = [...series, ...notes.map((n) => ({ ...n, kind: "note" }))];
  const spots = [];
  let lx = fs * 3, row = 0;
  for (const s of entries) {
    const span = fs * 1.1 + s.label.length * fs * 0.8 * 0.56;
    if (lx > fs * 3 && lx + span > w - fs * 0.6) { lx = fs * 3; row += 1; }
    spots.push({ x: lx, y: fs * (0.9 + 1.3 * row) });
    lx += span + fs * 1.2;
  }
  const pad = { left: fs * 3, right: fs * 0.6, top: fs * (2.2 + 1.3 * row), bottom: fs * 1.7 };
  const plotW = w - pad.left - pad.right;
  const plotH = h - pad.top - pad.bottom;
  const y0 = pad.top + plotH;
  const all = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  const { top, step } = niceScale(Math.max(0, ...all), integer);
  const scale = plotH / top;
  const y = (v) => y0 - v * scale;
  const band = plotW / Math.max(1, hours.length);
  const cx = (i) => pad.left + band * (i + 0.5);

  const chart = svg("svg", {
    id, class: "chart", viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`, "data-top": top, "font-size": fs * 0.8,
  });
  const titleNode = svg("title", { id: `${id}-title` });
  titleNode.textContent = title;
  const descNode = svg("desc", { id: `${id}-desc` });
  descNode.textContent = desc;
  chart.append(titleNode, descNode);

  // Grid and y axis: round figures, written the page's way (vi-VN 2,5; en-GB 2.5).
  const grid = svg("g", { class: "grid", "aria-hidden": "true" });
  const digits = Number.isInteger(step) ? 0 : step * 10 === Math.round(step * 10) ? 1 : 2;
  for (let v = 0; v <= top + 1e-9; v += step) {
    grid.append(svg("line", { x1: pad.left, x2: w - pad.right, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "" }));
    const label = svg("text", { x: pad.left - fs * 0.35, y: y(v) + fs * 0.28, class: "tick", "text-anchor": "end", "data-value": v });
    label.textContent = fmt(v, digits);
    grid.append(label);
  }
  hours.forEach((hr, i) => {
    const label = svg("text", { x: cx(i), y: y0 + fs * 1.15, class: "hour-label", "text-anchor": "middle", "data-hour": hr.hour });
    label.textContent = `${String(hr.hour).padStart(2, "0")}h`;
    grid.append(label);
  });
  chart.append(grid);

  const marks = (s, make) => {
    const g = svg("g", { class: `series ${s.kind}`, "data-series": s.key });
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const mark = make(v, i);
      mark.setAttribute("data-hour", hours[i].hour);
      mark.setAttribute("data-value", v);
      const t = svg("title");
      t.textContent = tip(i);
      mark.append(t);
      g.append(mark);
    });
    return g;
  };
  for (const s of series) {
    const extra = (i) => (s.cls ? s.cls(i) : "");
    if (s.kind === "bar") {
      const bw = band * 0.56;
      chart.append(marks(s, (v, i) => svg("rect", {
        x: cx(i) - bw / 2, y: y(v), width: bw, height: v * scale, class: `bar ${extra(i)}`.trim(),
      })));
    } else if (s.kind === "level") {
      chart.append(marks(s, (v, i) => svg("line", {
        x1: cx(i) - band / 2, x2: cx(i) + band / 2, y1: y(v), y2: y(v), class: `level ${extra(i)}`.trim(),
      })));
    } else {
      const known = s.values.map((v, i) => [v, i]).filter(([v]) => v !== null && v !== undefined);
      const g = marks(s, (v, i) => svg("circle", { cx: cx(i), cy: y(v), r: fs * 0.32, class: `point ${extra(i)}`.trim() }));
      // A line only between neighbouring hours: a gap in the data stays a gap.
      const runs = [];
      for (const [v, i] of known) {
        const last = runs.at(-1);
        if (last && last.at(-1)[1] === i - 1) last.push([v, i]);
        else runs.push([[v, i]]);
      }
      for (const run of runs.filter((r) => r.length > 1)) {
        g.prepend(svg("polyline", { points: run.map(([v, i]) => `${cx(i)},${y(v)}`).join(" "), "aria-hidden": "true" }));
      }
      chart.append(g);
    }
  }

  // The legend, in the page's language, across the top.
  const legend = svg("g", { class: "legend" });
  entries.forEach((s, i) => {
    const { x: lx, y: my } = spots[i];
    const item = svg("g", { class: `legend-item kind-${s.kind}`, "data-series": s.key });
    if (s.kind === "bar" || s.kind === "note") {
      item.append(svg("rect", { x: lx, y: my - fs * 0.4, width: fs * 0.8, height: fs * 0.8, class: `bar ${s.cls || ""}`.trim() }));
    } else if (s.kind === "level") {
      item.append(svg("line", { x1: lx, x2: lx + fs * 0.8, y1: my, y2: my, class: "level" }));
    } else {
      item.append(svg("circle", { cx: lx + fs * 0.4, cy: my, r: fs * 0.32, class: "point" }));
    }
    const text = svg("text", { x: lx + fs * 1.1, y: my + fs * 0.3 });
    text.textContent = s.label;
    item.append(text);
    legend.append(item);
  });
  chart.append(legend);
  return chart;
}
