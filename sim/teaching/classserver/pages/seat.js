"use strict";
// One seat: the table's public state and this seat's own numbers, over one websocket.
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token") || localStorage.getItem("negsim-seat");
let sc = null, me = null, table = null, state = null, ws = null, draft = null, lastQuestion = null;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const fmt = (x) => `<span class="num ${x >= 0 ? "pos" : "neg"}">${x >= 0 ? "+" : ""}${x.toFixed(3)}</span>`;
const label = (pid) => (sc ? sc.parties[pid] : pid) || pid;
const opt = (issue, o) => o.replaceAll("_", " ");

function terms(t, before) {
  return "<table>" + Object.entries(t).map(([i, o]) =>
    `<tr class="${before && before[i] !== o ? "changed" : ""}"><th>${esc(sc.issues[i].label)}</th><td>${esc(opt(i, o))}</td></tr>`).join("") + "</table>";
}

function send(msg) {
  ws.send(JSON.stringify({ table, seat: me, ...msg }));
  document.querySelectorAll("#question button").forEach((b) => (b.disabled = true));
}

function connect() {
  if (!token) { $("question").innerHTML = 'No seat: <a href="/">join a table</a>.'; return; }
  localStorage.setItem("negsim-seat", token);
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/seat?token=${encodeURIComponent(token)}`);
  ws.onopen = () => { $("msg").textContent = ""; $("msg").className = ""; };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") { sc = m.scenario; me = m.seat; table = m.table; }
    else if (m.type === "state") { state = m; render(); }
    else if (m.type === "refused") { $("msg").textContent = m.why; $("msg").className = "refused"; render(); }
    else if (m.type === "preview") { showPreview(m); }
    else if (m.type === "ok") { $("msg").textContent = "Sent."; $("msg").className = "muted"; }
  };
  ws.onclose = (ev) => {
    if (ev.code === 4403) { $("question").innerHTML = 'This seat is unknown here: <a href="/">join a table</a>.'; return; }
    $("msg").textContent = "Connection lost; reconnecting..."; setTimeout(connect, 1500);
  };
}

function render() {
  if (!sc || !state) return;
  const p = state.public, q = state.private && state.private.question;
  const envoy = me === sc.envoy;
  $("who").textContent = `${label(me)}${envoy ? ` - ${sc.mediator}` : ""}`;
  $("where").textContent = `Table ${table} · ${sc.title}`;
  $("clock").textContent = p.status === "ready" ? "" : `${p.date} of ${p.days} days · contact ${p.contact}`;
  $("status").textContent = p.status; $("status").className = `status ${p.status}`;
  renderQuestion(p, q);
  if (p.inforce) {
    const truce = p.inforce.truce_ends ? `<p class="muted">Its truce ends on ${esc(p.inforce.truce_ends.date)}.</p>` : "";
    $("inforce").innerHTML = `<p><b>${esc(p.inforce.label)}</b></p>${terms(p.inforce.terms)}${truce}`;
  } else $("inforce").textContent = "Nothing yet.";
  const lv = (state.private && state.private.levers) || [];
  $("levers").innerHTML = lv.length ? lv.map((l) => `<button data-lever="${esc(l.id)}" ${l.left > 0 && p.status === "playing" ? "" : "disabled"}>Use ${esc(l.label)} (${l.left} left)</button>`).join("") : '<span class="muted">None.</span>';
  document.querySelectorAll("[data-lever]").forEach((b) => (b.onclick = () => send({ type: "lever", lever: b.dataset.lever })));
  $("debrief").innerHTML = state.debrief ? `<p><a href="${esc(state.debrief)}" target="_blank">The class's debrief</a></p>` : "";
  $("timeline").innerHTML = (p.timeline || []).slice().reverse().map(item).join("");
}

function item(e) {
  const bits = [];
  for (const h of e.happened || []) bits.push({ banked: "Signed and in force.", vetoed: "Vetoed at home.", lapsed: "The truce lapsed.", violated: "The truce broke down.", extended: "The truce is extended.", gave_up: `The ${sc.mediator} gives up for now.` }[h] || h);
  for (const ev of e.events || []) bits.push(`Event: ${esc(sc.events[ev] || ev)}.`);
  for (const l of e.levers || []) bits.push(`Lever used: ${esc(sc.levers[l] || l)}.`);
  if (e.what === "inject") bits.push(`The teacher brings in: ${esc(e.event ? sc.events[e.event] : sc.levers[e.lever])}.`);
  if (e.text) {
    const ans = Object.entries(e.answers).map(([pid, yes]) => `${esc(label(pid))} ${yes ? "accepts" : "refuses"}`).join("; ");
    const text = Object.entries(e.text).map(([i, o]) => `${esc(sc.issues[i].label)}: ${esc(opt(i, o))}`).join(" · ");
    bits.unshift(`Text: ${text}. ${ans}.`);
    const heard = me === sc.envoy && state.private ? (state.private.demands || []).find((x) => x.contact === e.contact && x.day === e.day) : null;
    if (heard) for (const [pid, d] of Object.entries(heard.demands)) bits.push(`${esc(label(pid))} asks for ${esc(sc.issues[d[0]].label)}: ${esc(opt(d[0], d[1]))}.`);
  }
  if (e.counter) {
    const c = e.counter;
    const ans = Object.entries(c.answers).map(([pid, yes]) => `${esc(label(pid))} ${yes ? "accepts" : "refuses"}`).join("; ");
    const text = Object.entries(c.text).map(([i, o]) => `${esc(sc.issues[i].label)}: ${esc(opt(i, o))}`).join(" · ");
    const home = c.deal ? (c.ratified ? "" : " Vetoed at home.") : "";
    const also = (e.tabled || []).filter((p) => p !== c.by);
    const rival = also.length ? ` (${also.map(label).map(esc).join(", ")} tabled one too; ${esc(label(c.by))}'s stands)` : "";
    bits.splice(1, 0, `<span class="counter">${esc(label(c.by))} tables its own text${c.seat ? "" : " (the model)"}${rival}: ${text}. ${ans}.${home}</span>`);
  }
  return `<li><b>${esc(e.date)}</b> ${bits.join(" ")}</li>`;
}

function renderQuestion(p, q) {
  const box = $("question");
  if (!q) {
    lastQuestion = null;
    if (p.status === "ready") box.innerHTML = "<p>Waiting for the teacher to start the game.</p>";
    else if (p.status === "over" || p.status === "ended") box.innerHTML = `<p><b>Game over</b> (${p.status === "over" ? "the horizon" : "ended by the teacher"}, ${esc(p.date)}): ${esc(p.inforce.label)}.</p>`;
    else if (p.status === "paused") box.innerHTML = "<p>The teacher has paused the game.</p>";
    else {
      const waiting = (p.asked || []).filter((s) => !(p.answered || []).includes(s));
      box.innerHTML = waiting.length ? `<p>Waiting for: ${waiting.map(label).map(esc).join(", ")}.</p>` : "<p>The model is moving...</p>";
    }
    return;
  }
  if (lastQuestion === q.id && (q.kind === "draft" || q.kind === "counter")) return; // keep the text being edited
  lastQuestion = q.id;
  $("msg").textContent = "";
  const deadline = p.deadline == null ? "" : p.per_round
    ? `<p class="muted">This round ends in ${Math.round(p.deadline)} s; then the model answers for you.</p>`
    : `<p class="muted">Answer within ${Math.round(p.deadline)} s, or the model answers for you.</p>`;
  if (q.kind === "answer") {
    const changes = q.changes.map((c, n) => `<option value="${n}">${esc(sc.issues[c.issue].label)}: ${esc(opt(c.issue, c.option))} (${c.value >= 0 ? "+" : ""}${c.value.toFixed(3)})</option>`).join("");
    const from = q.by && q.by !== "mediator" ? `${esc(label(q.by))} (its own text)` : `the ${esc(sc.mediator)}`;
    box.innerHTML = `<p>The text on the table, from ${from}:</p>${terms(q.text, null)}
      <p>Your value of this text over what is in force: ${fmt(q.value)}<br>
      <span class="muted">Your no-deal value (what is in force, over the next ${q.window} days): ${fmt(q.nodeal)}</span></p>
      ${q.red_line ? '<p class="refused">This text crosses one of your red lines.</p>' : ""}
      <p><button class="go" id="accept">Accept</button><button class="no" id="refuse">Refuse</button></p>
      <p><label>Or refuse and name the one change you want most:<br><select id="change">${changes}</select></label>
      <button id="refuse-change">Refuse, asking for this change</button></p>${deadline}`;
    $("accept").onclick = () => send({ type: "move", question: q.id, answer: "accept" });
    $("refuse").onclick = () => send({ type: "move", question: q.id, answer: "refuse" });
    $("refuse-change").onclick = () => { const c = q.changes[Number($("change").value)]; send({ type: "move", question: q.id, answer: "refuse", issue: c.issue, option: c.option }); };
  } else if (q.kind === "extend") {
    box.innerHTML = `<p>The truce in force has reached its end. Extend it for another term, or let it lapse?</p>${terms(q.truce)}
      <p>Your value of extending it: ${fmt(q.values.extend)}<br>Your value of letting it lapse: ${fmt(q.values.lapse)}</p>
      <p class="muted">Lapsing leaves in force:</p>${terms(q.lapse)}
      <p><button class="go" id="extend">Extend</button><button class="no" id="lapse">Let it lapse</button></p>${deadline}`;
    $("extend").onclick = () => send({ type: "move", question: q.id, answer: "extend" });
    $("lapse").onclick = () => send({ type: "move", question: q.id, answer: "lapse" });
  } else if (q.kind === "counter") {
    draft = { ...(q.model_counter || q.text) };
    const rows = Object.entries(sc.issues).map(([i, s]) => `<tr><th>${esc(s.label)}</th><td><select data-issue="${esc(i)}">${s.options.map((o) => `<option value="${esc(o)}" ${q.allowed[i].includes(o) ? "" : "disabled"}>${esc(opt(i, o))}</option>`).join("")}</select></td></tr>`).join("");
    const cands = q.candidates.map((c, n) => `<li><button data-cand="${n}">Use</button> ${fmt(c.value)} ${Object.entries(c.terms).filter(([i, o]) => o !== q.text[i]).map(([i, o]) => `${esc(sc.issues[i].label)}: ${esc(opt(i, o))}`).join(" · ") || "(the text you refused)"}</li>`).join("");
    const model = q.model_counter ? `Your side's own counter (the model's) is filled in: worth ${fmt(q.model_value)} to you.` : "The model would table nothing here.";
    box.innerHTML = `<p>You refused the text (worth ${fmt(q.text_value)} to you). You may table a text of your own: the others then answer it, and if all accept it and it is ratified, it is in force.</p>
      <p class="muted">${model}</p><table>${rows}</table><div id="preview"></div>
      <p><button class="go" id="table-counter">Table this text</button><button id="no-counter">Table nothing</button></p>
      <details open><summary>Texts you may table, by their value to you (changes from the refused text)</summary><ol class="cands">${cands}</ol></details>${deadline}`;
    const fill = () => document.querySelectorAll("[data-issue]").forEach((s) => { s.value = draft[s.dataset.issue]; });
    document.querySelectorAll("[data-issue]").forEach((s) => { s.onchange = () => { draft[s.dataset.issue] = s.value; send({ type: "preview", package: draft }); }; });
    document.querySelectorAll("[data-cand]").forEach((b) => (b.onclick = () => { draft = { ...q.candidates[Number(b.dataset.cand)].terms }; fill(); send({ type: "preview", package: draft }); }));
    fill();
    $("table-counter").onclick = () => send({ type: "move", question: q.id, package: draft });
    $("no-counter").onclick = () => send({ type: "move", question: q.id, package: null });
    showPreview({ value: q.model_value != null ? q.model_value : q.text_value, why_not: q.model_counter ? null : "the text you refused: change something or table nothing" });
  } else if (q.kind === "draft") {
    draft = { ...q.model_text };
    const rows = Object.entries(sc.issues).map(([i, s]) => `<tr><th>${esc(s.label)}</th><td><select data-issue="${esc(i)}">${s.options.map((o) => `<option value="${esc(o)}" ${q.allowed[i].includes(o) ? "" : "disabled"}>${esc(opt(i, o))}</option>`).join("")}</select></td></tr>`).join("");
    box.innerHTML = `<p>Draft the single text: one option per issue. The model's own draft is filled in.</p><table>${rows}</table>
      <div id="preview"></div>
      <p><button class="go" id="table-it">Table this text</button><button id="reset">Back to the model's draft</button></p>${deadline}`;
    document.querySelectorAll("[data-issue]").forEach((s) => { s.value = draft[s.dataset.issue]; s.onchange = () => { draft[s.dataset.issue] = s.value; send({ type: "preview", package: draft }); }; });
    $("table-it").onclick = () => send({ type: "move", question: q.id, package: draft });
    $("reset").onclick = () => { lastQuestion = null; renderQuestion(p, q); };
    showPreview(q);
  }
}

function showPreview(v) {
  const box = $("preview");
  if (!box) return;
  const others = Object.entries(v.believed || {}).map(([pid, x]) => `<tr><th>${esc(label(pid))}</th><td>${fmt(x)} ${x > 0 ? "(believed to accept)" : "(believed to refuse)"}</td></tr>`).join("");
  const beliefs = v.believed ? `<p class="muted">What you believe each side would gain over what it asks:</p><table>${others}</table>` : "";
  box.innerHTML = `<p>Value of this text to ${esc(label(me))} over what is in force: ${fmt(v.value)}</p>${beliefs}
    ${v.why_not ? `<p class="refused">${esc(v.why_not)}</p>` : ""}`;
  document.querySelectorAll("#question button").forEach((b) => (b.disabled = false));
  for (const id of ["table-it", "table-counter"]) if (v.why_not && $(id)) $(id).disabled = true;
}
connect();
