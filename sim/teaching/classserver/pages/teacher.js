"use strict";
// The teacher's console: every table at a glance; commands carry the teacher's token (in the socket's URL).
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
let sc = null, ws = null;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const label = (pid) => (sc ? sc.parties[pid] : pid) || pid;
const send = (m) => ws.send(JSON.stringify(m));

function connect() {
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/teacher?token=${encodeURIComponent(token)}`);
  ws.onopen = () => { $("msg").textContent = ""; $("msg").className = ""; };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") {
      sc = m.scenario;
      $("title").textContent = sc.title; $("code").textContent = m.code; $("url").textContent = m.url + "/";
      $("qr").src = `/qr.svg?token=${encodeURIComponent(token)}`;
    } else if (m.type === "console") render(m);
    else if (m.type === "refused") { $("msg").textContent = m.why; $("msg").className = "refused"; }
    else if (m.type === "done") { $("msg").textContent = m.what; $("msg").className = "muted"; }
  };
  ws.onclose = () => { $("msg").textContent = "Connection lost; reconnecting..."; setTimeout(connect, 1500); };
}

function paceText(pace) {
  if (!pace || pace.seconds == null) return "all answered";
  return `${Math.round(pace.seconds)} s a ${pace.per_round ? "round (one deadline for a contact's questions)" : "question"}`;
}

function render(m) {
  $("moves").textContent = `${m.moves} moves stored`;
  $("debrief-link").innerHTML = m.debrief ? `<a href="${esc(m.debrief)}" target="_blank">the debrief</a>` : "";
  const injects = [...Object.entries(sc.events).map(([k, v]) => `<option value="${esc(k)}">Event: ${esc(v)}</option>`),
    ...Object.entries(sc.levers).map(([k, v]) => `<option value="${esc(k)}">Lever: ${esc(v)}</option>`)].join("");
  $("tables").innerHTML = m.tables.map((t) => {
    const p = t.public, running = p.status === "playing" || p.status === "paused";
    const seats = Object.keys(sc.parties).map((pid) => {
      const name = t.seats[pid];
      const state = !p.asked ? "" : (p.answered || []).includes(pid) ? " ✓ answered" : (p.asked || []).includes(pid) ? " … to answer" : "";
      return `<tr><th>${esc(label(pid))}</th><td>${name ? esc(name) : '<span class="muted">model</span>'}${state}</td></tr>`;
    }).join("");
    const text = p.text ? Object.entries(p.text).map(([i, o]) => `${esc(sc.issues[i].label)}: ${esc(o.replaceAll("_", " "))}`).join("<br>") : '<span class="muted">none open</span>';
    return `<section data-table="${t.id}"><h2>Table ${t.id} <span class="status ${p.status}">${p.status}</span></h2>
      ${p.day != null ? `<p>${esc(p.date)} of ${p.days} days, contact ${p.contact}</p>` : ""}
      <p class="pace">Pace: ${paceText(t.pace)}${m.blind ? "; the envoy is blind to the mediator's beliefs" : ""}</p>
      <table>${seats}</table>
      <p><b>Text on the table</b>${p.text_by && p.text_by !== "mediator" ? ` (${esc(label(p.text_by))}'s counter)` : ""}<br>${text}</p>
      <p><b>In force</b>: ${p.inforce ? esc(p.inforce.label) + (p.inforce.truce_ends ? ` (truce to ${esc(p.inforce.truce_ends.date)})` : "") : "-"}</p>
      ${p.error ? `<p class="refused">${esc(p.error)}</p>` : ""}
      <p>${p.status === "ready" ? `<button class="go" data-cmd="start">Start</button>` : ""}
      ${p.status === "playing" ? `<button data-cmd="pause">Pause</button>` : ""}${p.status === "paused" ? `<button data-cmd="resume">Resume</button>` : ""}
      ${running ? `<button class="no" data-cmd="end">End</button>` : ""}</p>
      ${running ? `<p><select data-inject>${injects}</select><button data-cmd="inject">Inject</button></p>` : ""}</section>`;
  }).join("");
  document.querySelectorAll("[data-cmd]").forEach((b) => {
    const sec = b.closest("[data-table]"), table = Number(sec.dataset.table);
    b.onclick = () => send(b.dataset.cmd === "inject" ? { type: "inject", table, what: sec.querySelector("[data-inject]").value } : { type: b.dataset.cmd, table });
  });
}
document.querySelectorAll("[data-all]").forEach((b) => (b.onclick = () => send({ type: b.dataset.all, table: "all" })));
$("pace").onchange = () => {
  const v = $("pace").value, round = v.startsWith("r");
  send({ type: "pace", table: "all", seconds: v ? Number(round ? v.slice(1) : v) : null, per: round ? "round" : "question" });
};
$("debrief").onclick = () => { $("msg").textContent = "Making the debrief..."; send({ type: "debrief" }); };
connect();
