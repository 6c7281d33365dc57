// The BI board's charts (ECharts from npm, copied to static/vendor by scripts/build-static.mjs).
// The data comes from the page (#bi-data, json_script); phones draw SVG, laptops canvas; Chinese locale
// when the page is Chinese. A click on a funnel step or a cohort cell opens the people behind it.
(function () {
  "use strict";

  function start() {
    var holder = document.querySelector(".bi-charts");
    var source = document.getElementById("bi-data");
    if (!holder || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var lang = (document.documentElement.lang || "").toLowerCase();
    var options = {
      renderer: holder.dataset.renderer === "svg" ? "svg" : "canvas",
      locale: lang.indexOf("zh") === 0 ? "ZH" : "EN",
    };
    var query = holder.dataset.query ? holder.dataset.query + "&" : "";
    var narrow = holder.clientWidth < 520;
    var charts = [];

    function chart(id, option) {
      var node = document.getElementById(id);
      if (!node) return null;
      var made = window.echarts.init(node, null, options);
      made.setOption(option);
      charts.push(made);
      return made;
    }

    function pct(value) {
      return value === null || value === undefined ? "—" : Math.round(value * 100) + "%";
    }

    var funnel = chart("chart-funnel", {
      tooltip: { trigger: "item", formatter: "{b}: {c}" },
      series: [
        {
          type: "funnel",
          sort: "none",
          left: "10%",
          width: "80%",
          minSize: "20%",
          label: { show: true, position: "inside", formatter: "{b}\n{c}" },
          data: data.funnel,
        },
      ],
    });
    if (funnel) {
      funnel.on("click", function (event) {
        if (event.data && event.data.key) {
          window.location.href = holder.dataset.people + "?" + query + "part=" + event.data.key;
        }
      });
    }

    var labels = data.labels;
    chart("chart-sessions", {
      tooltip: {
        trigger: "axis",
        valueFormatter: function (value) {
          return value === null ? "—" : value;
        },
      },
      legend: { top: 0, type: "scroll" },
      grid: { left: 48, right: 48, top: 48, bottom: 32 },
      xAxis: {
        type: "category",
        data: data.sessions.map(function (row) {
          return row.date;
        }),
      },
      yAxis: [
        { type: "value", min: 0, max: 1, axisLabel: { formatter: pct } },
        { type: "value", axisLabel: { formatter: "{value}′" } },
      ],
      series: [
        {
          name: labels.community_to_viewer,
          type: "line",
          data: data.sessions.map(function (row) {
            return row.community_to_viewer;
          }),
          tooltip: { valueFormatter: pct },
        },
        {
          name: labels.viewer_to_joiner,
          type: "line",
          data: data.sessions.map(function (row) {
            return row.viewer_to_joiner;
          }),
          tooltip: { valueFormatter: pct },
        },
        {
          name: labels.average_watch,
          type: "bar",
          yAxisIndex: 1,
          barMaxWidth: 28,
          data: data.sessions.map(function (row) {
            return row.average_watch;
          }),
        },
      ],
    });

    function yuan(fen) {
      return fen === null || fen === undefined ? "—" : "¥" + (fen / 100).toLocaleString(lang || undefined);
    }

    chart("chart-months", {
      tooltip: { trigger: "axis", valueFormatter: yuan },
      legend: { top: 0, type: "scroll" },
      grid: { left: narrow ? 56 : 72, right: narrow ? 56 : 72, top: 48, bottom: 32 },
      xAxis: {
        type: "category",
        data: data.months.map(function (row) {
          return narrow ? row.month.slice(2) : row.month;
        }),
      },
      yAxis: [
        { type: "value", axisLabel: { formatter: function (v) { return "¥" + Math.round(v / 100); } } },
        { type: "value", axisLabel: { formatter: function (v) { return "¥" + Math.round(v / 100); } } },
      ],
      series: [
        {
          name: labels.gmv_gross,
          type: "bar",
          data: data.months.map(function (row) {
            return row.gmv_gross;
          }),
        },
        {
          name: labels.gmv_net,
          type: "bar",
          data: data.months.map(function (row) {
            return row.gmv_net;
          }),
        },
        {
          name: labels.lifetime_value,
          type: "line",
          yAxisIndex: 1,
          data: data.months.map(function (row) {
            return row.lifetime_value;
          }),
        },
      ],
    });

    var cohorts = data.cohorts;
    var offsets = cohorts.cohorts.map(function (_label, index) {
      return "+" + index;
    });
    var heat = chart("chart-cohorts", {
      tooltip: {
        formatter: function (item) {
          var cell = item.data;
          return cohorts.cohorts[cell[1]] + " +" + cell[0] + ": " + cell[2] + "% (" + cell[3] + ")";
        },
      },
      grid: { left: narrow ? 56 : 72, right: 16, top: 16, bottom: 64 },
      xAxis: { type: "category", data: offsets, splitArea: { show: true } },
      yAxis: {
        type: "category",
        data: cohorts.cohorts.map(function (label, index) {
          return (narrow ? label.slice(2) : label) + " (" + cohorts.sizes[index] + ")";
        }),
        inverse: true,
        splitArea: { show: true },
      },
      visualMap: {
        min: 0,
        max: 100,
        dimension: 2,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        itemHeight: narrow ? 120 : 200,
        inRange: { color: ["#f5f8f6", "#2f9e5b"] },
      },
      series: [
        {
          type: "heatmap",
          data: cohorts.cells,
          label: { show: !narrow || cohorts.cells.length <= 24, formatter: function (item) { return item.data[2] + "%"; } },
        },
      ],
    });
    if (heat) {
      heat.on("click", function (event) {
        var cell = event.data;
        window.location.href =
          holder.dataset.cohortPeople + "?" + query + "cohort=" + cohorts.cohorts[cell[1]] + "&offset=" + cell[0];
      });
    }

    window.addEventListener("resize", function () {
      charts.forEach(function (made) {
        made.resize();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
