// The charts screen (issue 16, part K2): draws each figure with Chart.js on its canvas.
// The data come from the page's <script type="application/json"> blocks (data, never run),
// named by the canvas's data-chart attribute; the canvas's aria-label, written by the server,
// already says what it shows. Without Chart.js (not installed) the tables stand alone.
"use strict";

(function () {
  const COLOURS = ["#0b5cad", "#b35900", "#1e7b34", "#7a1fa2"];

  function draw(canvas) {
    const block = document.getElementById(canvas.dataset.chart);
    if (!block) return;
    const data = JSON.parse(block.textContent);
    const unit = data.unit || "";
    new window.Chart(canvas, {
      type: data.kind === "line" ? "line" : "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, index) {
          const colour = COLOURS[index % COLOURS.length];
          return { label: series.name, data: series.data, backgroundColor: colour, borderColor: colour };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          title: { display: true, text: data.title },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + item.formattedValue + unit;
              },
            },
          },
        },
        scales: {
          // Percentages on a 0–100 axis (a 0 % rate is not drawn as a full bar of 0 to 1).
          y: { beginAtZero: true, suggestedMax: unit === "%" ? 100 : undefined, ticks: { precision: 0 } },
        },
      },
    });
  }

  function start() {
    if (typeof window.Chart !== "function") return;
    window.Chart.defaults.font.size = 14; // readable on a tablet held at arm's length
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
