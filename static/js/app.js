// Behaviour every page shares, kept in this file so that the Content-Security-Policy can
// forbid inline script (diabetes_center.middleware.SecurityHeadersMiddleware).
//
// - <select data-autosubmit> submits its form when changed (the language switch).
// - <div data-plotly-source="ID" [data-plotly-key="KEY"] [data-plotly-modebar="false"]> is
//   drawn by Plotly from the JSON in <script type="application/json" id="ID"> (its KEY
//   member when given). The JSON is data, never executed.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });

  var parsed = {};

  function figureFor(el) {
    var id = el.getAttribute("data-plotly-source");
    if (!(id in parsed)) {
      var source = document.getElementById(id);
      var value = source ? JSON.parse(source.textContent) : null;
      parsed[id] = typeof value === "string" ? JSON.parse(value) : value;
    }
    var figure = parsed[id];
    var key = el.getAttribute("data-plotly-key");
    return figure && key ? figure[key] : figure;
  }

  function draw(root) {
    if (!window.Plotly) return;
    (root && root.querySelectorAll ? root : document).querySelectorAll("[data-plotly-source]").forEach(function (el) {
      var figure = figureFor(el);
      if (!figure) return;
      var config = { responsive: true, displaylogo: false };
      if (el.getAttribute("data-plotly-modebar") === "false") config.displayModeBar = false;
      window.Plotly.newPlot(el, figure.data, figure.layout, config);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  // A tab or fragment swapped in by htmx brings its own figures (and their data).
  document.addEventListener("htmx:afterSettle", function (event) {
    parsed = {};
    draw(event.target);
  });
})();
