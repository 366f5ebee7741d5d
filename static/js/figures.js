/* Draw every plotly figure whose JSON sits in a <script type="application/json"> named by an
   element's data-figure attribute; again after htmx swaps a tab in. */
(function () {
  function draw(root) {
    if (!window.Plotly) { return; }
    (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      var config = {displayModeBar: false, responsive: true};
      Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
        var link = el.getAttribute("data-click-url");
        if (link && el.on) {
          el.on("plotly_click", function (event) {
            var point = event.points && event.points[0];
            if (point && point.customdata !== undefined) {
              window.location.href = link.replace("0", String(point.customdata));
            }
          });
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
