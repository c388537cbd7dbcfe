"use strict";
const $ = (id) => document.getElementById(id);
let data = null;
const params = new URLSearchParams(location.search);
if (params.get("code")) $("code").value = params.get("code");
const mine = localStorage.getItem("negsim-seat");
if (mine) { $("msg").innerHTML = `You have a seat already: <a href="/seat?token=${encodeURIComponent(mine)}">back to it</a>.`; }

function fillSeats() {
  const t = data.tables.find((x) => String(x.id) === $("table").value);
  $("seat").innerHTML = "";
  for (const [pid, label] of Object.entries(data.scenario.parties)) {
    const o = document.createElement("option");
    o.value = pid;
    const envoy = pid === data.scenario.envoy ? ` (${data.scenario.mediator}: drafts the text)` : "";
    o.textContent = label + envoy + (t.taken.includes(pid) ? " - taken" : "");
    o.disabled = t.taken.includes(pid) || t.started;
    $("seat").appendChild(o);
  }
}

async function look() {
  const r = await fetch(`/api/tables?code=${encodeURIComponent($("code").value.trim())}`);
  const body = await r.json();
  if (!r.ok) { $("msg").textContent = body.error; $("msg").className = "refused"; return; }
  data = body;
  $("title").textContent = data.scenario.title;
  $("table").innerHTML = data.tables.map((t) => `<option value="${t.id}">Table ${t.id}${t.started ? " (started)" : ""}</option>`).join("");
  $("table").onchange = fillSeats;
  fillSeats();
  $("pick").hidden = false;
  $("msg").textContent = "";
}

async function join() {
  const body = { code: $("code").value.trim(), table: Number($("table").value), seat: $("seat").value, name: $("name").value };
  const r = await fetch("/api/join", { method: "POST", body: JSON.stringify(body) });
  const out = await r.json();
  if (!r.ok) { $("msg").textContent = out.error; $("msg").className = "refused"; return; }
  localStorage.setItem("negsim-seat", out.token);
  location.href = `/seat?token=${encodeURIComponent(out.token)}`;
}
$("look").onclick = look;
$("join").onclick = join;
if ($("code").value) look();
