// Draws the dashboard's charts from the figures the page embeds (json_script "dashboard-data").
// The same figures are in the tables under each chart, so the page reads without JavaScript.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var palette = ["#2f6fb0", "#8fb8de", "#e08a2c", "#5aa469", "#8e6bbf", "#c9505a"];
  var bad = "#b42318";

  function datasets(series, type, highlight, labels) {
    return series.map(function (item, index) {
      var colour = palette[index % palette.length];
      var colours = labels.map(function (label) {
        return highlight && label === highlight ? bad : colour;
      });
      return Object.assign({ type: type, backgroundColor: colours, borderColor: colour }, item);
    });
  }

  function bars(spec, options) {
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: datasets(spec.series, "bar", spec.highlight, spec.labels),
      },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, options),
    };
  }

  function funnel(spec) {
    var config = bars(spec, { indexAxis: "y", scales: { y: { ticks: { autoSkip: false } } } });
    config.options.plugins = {
      subtitle: {
        display: spec.rates.labels.length > 0,
        text: spec.rates.labels.map(function (label, i) {
          var rate = spec.rates.data[i];
          return label + " " + (rate === null ? "—" : rate + "%");
        }),
      },
    };
    return config;
  }

  var builders = {
    journeyFunnel: funnel,
    pipelineFunnel: funnel,
    times: function (spec) { return bars(spec, {}); },
    channels: function (spec) { return bars(spec, {}); },
    trends: function (spec) {
      return {
        type: "line",
        data: { labels: spec.labels, datasets: datasets(spec.series, "line", null, spec.labels) },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          spanGaps: true,
          scales: {
            y: { beginAtZero: true, position: "left" },
            minutes: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } },
          },
        },
      };
    },
  };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var name = canvas.dataset.chart;
    if (data[name] && builders[name]) {
      new Chart(canvas, builders[name](data[name]));
    }
  });
})();
