// The time-grid schedule (issue #19 §4): drag a visit block to another time or clinician
// (in the per-room view, another time: the visit keeps its clinician).
// The drop posts {visit, clinician, date, minute} to the grid's move URL; the server applies
// the same rules as any move. On success the page reloads (the grid is the server's); on a
// refusal (400, 409) the block goes back where it was and the reason is read out.
// Minute arithmetic mirrors visits/grid.py `minute_at` (snapped to 15 minutes).
(function () {
  "use strict";
  var grid = document.getElementById("tgrid");
  if (!grid) return;
  var status = document.getElementById("grid-status");
  var first = parseFloat(grid.dataset.first);
  var scale = parseFloat(grid.dataset.scale);
  var dragged = null;
  var grabOffset = 0;

  function csrf() {
    var raw = document.body.getAttribute("hx-headers") || "{}";
    try { return JSON.parse(raw)["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function minuteAt(offsetPx) {
    var raw = first + Math.max(0, offsetPx) / scale;
    return Math.round(raw / 15) * 15;
  }

  grid.addEventListener("dragstart", function (event) {
    var block = event.target.closest && event.target.closest(".tgrid-visit");
    if (!block || block.getAttribute("draggable") !== "true") return;
    dragged = block;
    grabOffset = event.clientY - block.getBoundingClientRect().top;
    block.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", block.dataset.visit);
  });

  grid.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    grid.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  });

  grid.addEventListener("dragover", function (event) {
    var body = event.target.closest && event.target.closest(".tgrid-body[data-date]");
    if (!body || !dragged) return;
    event.preventDefault();
    grid.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
    body.classList.add("drop-target");
  });

  grid.addEventListener("drop", function (event) {
    var body = event.target.closest && event.target.closest(".tgrid-body[data-date]");
    if (!body || !dragged) return;
    event.preventDefault();
    var block = dragged;
    var offset = event.clientY - body.getBoundingClientRect().top - grabOffset;
    move(block, body, minuteAt(offset));
  });

  function move(block, body, minute) {
    var home = { parent: block.parentNode, top: block.style.top };
    body.appendChild(block);
    block.style.top = ((minute - first) * scale) + "px";
    var data = new FormData();
    data.append("visit", block.dataset.visit);
    data.append("clinician", body.dataset.clinician || block.dataset.clinician);
    data.append("date", body.dataset.date);
    data.append("minute", String(minute));
    fetch(grid.dataset.moveUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      status.textContent = result.answer.detail || "";
      if (result.ok) {
        window.location.reload();
      } else {
        home.parent.appendChild(block);
        block.style.top = home.top;
        status.classList.add("error");
      }
    }).catch(function () {
      home.parent.appendChild(block);
      block.style.top = home.top;
    });
  }
})();
