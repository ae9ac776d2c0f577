// The control-room alarm: a tone per severity (Web Audio, generated here: no sound file, no
// CDN), repeating while an alert of that severity is new (not acknowledged), until it is
// acknowledged, muted or the alarm is snoozed; a desktop notification when the page is hidden;
// the tab's title flashes while a critical alert is not acknowledged.
// Loaded after app.js, whose state and helpers it uses. The state a test (or a curious
// technician) can read is mirrored on #alarm's data- attributes.
"use strict";

// [frequency Hz, start s, length s] per note; a pattern repeats every `every` ms (0: once).
const TONES = {
  critical: { wave: "square", gain: 0.18, every: 2000,
    notes: [[988, 0, 0.16], [740, 0.2, 0.16], [988, 0.4, 0.16], [740, 0.6, 0.16]] },
  warning: { wave: "triangle", gain: 0.3, every: 8000, notes: [[587, 0, 0.3], [587, 0.45, 0.3]] },
  info: { wave: "sine", gain: 0.25, every: 0, notes: [[660, 0, 0.2], [880, 0.24, 0.35]] },
};
const RINGS = ["critical", "warning"]; // the severities that repeat; info chimes once
const SNOOZE_MS = 5 * 60 * 1000;

const alarm = {
  ctx: null, // the AudioContext, made on the first user gesture
  master: null, // every tone goes through it to the speakers (and the meter)
  peak: 0, // the loudest output the meter heard since the last pattern started (0..1)
  muted: new Set(JSON.parse(sessionStorage.getItem("fw-muted") || "[]")), // alert ids silenced
  snoozeUntil: Number(sessionStorage.getItem("fw-snooze") || 0), // ms since the epoch
  ringing: null, // the severity ringing now, or null
  repeat: null, // the interval repeating the pattern
  tick: null, // the interval counting the snooze down and flashing the title
  nodes: new Set(), // oscillators scheduled or sounding
  patterns: 0, // patterns played since the page loaded
  notified: 0, // desktop notifications shown
  titleOn: false,
};

// ---------------------------------------------------------------- audio

// Called inside a user gesture (the login button, the "enable sound" button): browsers let
// a page make sound only after one. Asks for the desktop notifications in the same gesture.
function enableAlarmSound() {
  localStorage.setItem("fw-sound", "on");
  try {
    if (!alarm.ctx) makeAudio();
    alarm.ctx.resume().catch(() => null);
  } catch (e) {
    alarm.ctx = null; // no Web Audio in this browser: the status says so
  }
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().then(renderAlarm, renderAlarm);
  }
  updateAlarm();
}

function makeAudio() {
  const ctx = new AudioContext();
  alarm.ctx = ctx;
  alarm.master = ctx.createGain();
  alarm.master.connect(ctx.destination);
  ctx.addEventListener("statechange", () => { alarm.ringing = null; updateAlarm(); });
  // The meter: what really reaches the output, for the status and for tests.
  ctx.audioWorklet?.addModule("alarm-meter.js").then(() => {
    const meter = new AudioWorkletNode(ctx, "fw-peak-meter");
    alarm.master.connect(meter);
    meter.connect(ctx.destination); // silent itself; connected so the browser runs it
    meter.port.onmessage = (e) => {
      if (e.data > alarm.peak) {
        alarm.peak = e.data;
        renderAlarm();
      }
    };
  }).catch(() => null);
}

function disableAlarmSound() {
  localStorage.setItem("fw-sound", "off");
}

function audioState() {
  if (!window.AudioContext) return "unsupported";
  return alarm.ctx ? alarm.ctx.state : "none";
}

function playPattern(severity) {
  const ctx = alarm.ctx;
  if (!ctx || ctx.state !== "running") return;
  const tone = TONES[severity];
  const t0 = ctx.currentTime + 0.02;
  for (const [freq, at, length] of tone.notes) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = tone.wave;
    osc.frequency.value = freq;
    // a short attack and release: no click
    gain.gain.setValueAtTime(0, t0 + at);
    gain.gain.linearRampToValueAtTime(tone.gain, t0 + at + 0.015);
    gain.gain.setValueAtTime(tone.gain, t0 + at + length - 0.03);
    gain.gain.linearRampToValueAtTime(0, t0 + at + length);
    osc.connect(gain).connect(alarm.master);
    osc.addEventListener("ended", () => { alarm.nodes.delete(osc); gain.disconnect(); renderAlarm(); });
    alarm.nodes.add(osc);
    osc.start(t0 + at);
    osc.stop(t0 + at + length);
  }
  alarm.patterns += 1;
  alarm.peak = 0;
  $("#alarm").dataset.tone = severity;
  $("#alarm").dataset.frequencies = tone.notes.map((n) => n[0]).join(" ");
  renderAlarm();
}

function stopSound() {
  clearInterval(alarm.repeat);
  alarm.repeat = null;
  for (const osc of alarm.nodes) {
    try { osc.stop(); } catch (e) { /* not started yet or already stopped */ }
  }
}

// ---------------------------------------------------------------- what rings

function snoozed() {
  return Date.now() < alarm.snoozeUntil;
}

// The worst severity among the new alerts not muted, or null.
function ringingSeverity() {
  const sev = new Set();
  for (const a of state.alerts.values()) {
    if (a.state === "active" && RINGS.includes(a.severity) && !alarm.muted.has(a.id)) sev.add(a.severity);
  }
  return RINGS.find((s) => sev.has(s)) || null;
}

// Called whenever the alerts change, and by the alarm's own buttons and timers.
function updateAlarm() {
  if (!state.me) return;
  const want = snoozed() || audioState() !== "running" ? null : ringingSeverity();
  if (want !== alarm.ringing) {
    stopSound();
    alarm.ringing = want;
    if (want) {
      playPattern(want);
      alarm.repeat = setInterval(() => playPattern(want), TONES[want].every);
    }
  }
  const needTick = snoozed() || openCritical().length > 0;
  if (needTick && !alarm.tick) alarm.tick = setInterval(alarmTick, 1000);
  if (!needTick && alarm.tick) {
    clearInterval(alarm.tick);
    alarm.tick = null;
  }
  if (!needTick) setTitle(false);
  renderAlarm();
}

function openCritical() {
  return [...state.alerts.values()].filter((a) => a.severity === "critical" && a.state === "active");
}

function alarmTick() {
  if (alarm.snoozeUntil && !snoozed()) {
    alarm.snoozeUntil = 0;
    sessionStorage.removeItem("fw-snooze");
    updateAlarm();
  }
  setTitle(openCritical().length > 0 && !alarm.titleOn);
  renderAlarm();
}

function setTitle(flash) {
  alarm.titleOn = flash;
  const n = openCritical().length;
  document.title = flash
    ? `⚠ ${T("alarm.title", { n })}`
    : `${n ? `(${n}) ` : ""}floorwatch – ${T("login.title")}`;
  $("#alarm").dataset.title = flash ? "flash" : "plain";
}

// A new alert from the stream (not the snapshot): an alert raised again rings again even if
// it was muted; info chimes once; a hidden page shows a desktop notification of a critical
// or warning one.
function alarmOnAlert(alert, transition) {
  if (transition !== "raised") return;
  if (alarm.muted.delete(alert.id)) saveMuted();
  if (alert.severity === "info" && !snoozed()) playPattern("info");
  if (document.visibilityState === "hidden" && RINGS.includes(alert.severity)) notifyDesktop(alert);
}

function notifyDesktop(alert) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const note = new Notification(`${T(`severity.${alert.severity}`)} – ${state.site?.name || "floorwatch"}`, {
    body: alertText(alert),
    tag: alert.id, // the same alert raised again replaces its notification
    requireInteraction: alert.severity === "critical",
    lang: window.I18N.lang,
  });
  note.addEventListener("click", () => { window.focus(); note.close(); });
  alarm.notified += 1;
  renderAlarm();
}

// ---------------------------------------------------------------- buttons

function muteAlarm() {
  for (const a of state.alerts.values()) if (a.state === "active") alarm.muted.add(a.id);
  saveMuted();
  updateAlarm();
}

function snoozeAlarm() {
  alarm.snoozeUntil = Date.now() + SNOOZE_MS;
  sessionStorage.setItem("fw-snooze", String(alarm.snoozeUntil));
  updateAlarm();
}

function resumeAlarm() {
  alarm.snoozeUntil = 0;
  sessionStorage.removeItem("fw-snooze");
  updateAlarm();
}

function saveMuted() {
  // only the alerts still open are worth remembering
  for (const id of alarm.muted) if (!state.alerts.has(id)) alarm.muted.delete(id);
  sessionStorage.setItem("fw-muted", JSON.stringify([...alarm.muted]));
}

// Logging out: silence, and forget this tab's mute and snooze (the next user starts afresh).
function stopAlarm() {
  sessionStorage.removeItem("fw-muted");
  sessionStorage.removeItem("fw-snooze");
  stopSound();
  clearInterval(alarm.tick);
  alarm.tick = null;
  alarm.ringing = null;
}

// "4:05": minutes and seconds, rounded up (a snooze of 5 minutes reads 5:00, never 4:59 at once).
function remainingText(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function renderAlarm() {
  const box = $("#alarm");
  const audio = audioState();
  const wanted = localStorage.getItem("fw-sound") !== "off";
  const isSnoozed = snoozed();
  const mutedOpen = [...state.alerts.values()].filter((a) => a.state === "active" && alarm.muted.has(a.id)).length;
  box.dataset.audio = audio;
  box.dataset.muted = String(mutedOpen);
  box.dataset.ringing = alarm.ringing || "off";
  box.dataset.patterns = String(alarm.patterns);
  box.dataset.sounding = String(alarm.nodes.size);
  box.dataset.peak = alarm.peak.toFixed(2);
  box.dataset.snoozed = isSnoozed ? "yes" : "no";
  box.dataset.notified = String(alarm.notified);
  box.dataset.notifications = "Notification" in window ? Notification.permission : "unsupported";
  $("#login-sound").checked = wanted;
  const enable = $("#alarm-enable");
  enable.hidden = audio === "running" || audio === "unsupported";
  enable.classList.toggle("urgent", wanted || ringingSeverity() !== null);
  $("#alarm-mute").hidden = !alarm.ringing;
  $("#alarm-snooze").hidden = audio !== "running" || isSnoozed;
  $("#alarm-resume").hidden = !isSnoozed;
  let status = "";
  if (audio === "unsupported") status = T("alarm.unsupported");
  else if (isSnoozed) status = T("alarm.snoozed", { left: remainingText(alarm.snoozeUntil - Date.now()) });
  else if (alarm.ringing) status = T("alarm.ringing", { severity: T(`severity.${alarm.ringing}`) });
  else if (mutedOpen > 0) status = T("alarm.muted", { n: mutedOpen });
  else if (audio === "running") status = T("alarm.on");
  const line = $("#alarm-status");
  line.textContent = status;
  line.className = isSnoozed || (!alarm.ringing && mutedOpen) ? "snoozed" : alarm.ringing ? `ringing ${alarm.ringing}` : "";
}

function setupAlarm() {
  $("#alarm-enable").addEventListener("click", enableAlarmSound);
  $("#alarm-mute").addEventListener("click", muteAlarm);
  $("#alarm-snooze").addEventListener("click", snoozeAlarm);
  $("#alarm-resume").addEventListener("click", resumeAlarm);
  $("#login-sound").addEventListener("change", (e) => { if (!e.target.checked) disableAlarmSound(); });
  document.addEventListener("visibilitychange", renderAlarm);
  renderAlarm();
}

document.addEventListener("DOMContentLoaded", setupAlarm);
