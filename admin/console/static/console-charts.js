// The console's charts, drawn by ECharts (vendor/echarts) from series the server prepared.
// Each chart is an element [data-chart-source="<id>"] (hidden until drawn) whose data is
// the JSON of <script type="application/json" id="<id>">: {kind, x, series, labels,
// target, period, digits}. kind: "lines" (a trend, one line per group), "bars" (one bar
// per group), "share" (percent by month against the target line), "progress" (cumulative
// toward a goal). A null value is a figure hidden under the privacy rule: a gap, and the
// tooltip says why (labels.hidden). `period` [first, last] shades those x values, named
// labels.period (a campaign's days); `digits`: the decimals a figure shows (1 if absent).
// The table beside each chart is its text for readers without JavaScript. Under the
// console's CSP: no inline style is written (the tooltip is drawn on the canvas,
// renderMode "richText").
(function () {
  "use strict";
  if (!window.echarts) {
    return;
  }
  var PALETTE = ["#1e7a46", "#2f6fb3", "#d98324", "#7b4fa8", "#b3261e", "#0f8b8d",
    "#8a6d3b", "#5b6770", "#c2185b", "#33691e", "#283593", "#6d4c41"];
  var LANG = document.documentElement.lang || "zh-CN";
  var number = new Intl.NumberFormat(LANG, { maximumFractionDigits: 1 });

  function numberOf(spec) {
    if (!spec.digits) {
      return number;
    }
    return new Intl.NumberFormat(LANG, { maximumFractionDigits: spec.digits });
  }

  function valueText(spec) {
    var number = numberOf(spec);
    return function (value) {
      if (value === null || value === undefined || value === "-" || Number.isNaN(value)) {
        return spec.labels.hidden;
      }
      return number.format(value) + " " + spec.labels.unit;
    };
  }

  function targetLine(spec) {
    if (spec.target === null || spec.target === undefined) {
      return undefined;
    }
    return {
      symbol: "none",
      silent: true,
      lineStyle: { color: "#b3261e", type: "dashed", width: 2 },
      label: { formatter: spec.labels.target + " " + number.format(spec.target) + " " +
        spec.labels.unit, position: "insideEndTop", color: "#b3261e" },
      data: [{ yAxis: spec.target }]
    };
  }

  function periodArea(spec) {
    if (!spec.period) {
      return undefined;
    }
    return {
      silent: true,
      itemStyle: { color: "rgba(30, 122, 70, 0.10)" },
      label: { formatter: spec.labels.period, position: "insideTop", color: "#1e7a46" },
      data: [[{ xAxis: spec.period[0] }, { xAxis: spec.period[1] }]]
    };
  }

  function options(spec) {
    var number = numberOf(spec);
    var bars = spec.kind === "bars";
    var series = spec.series.map(function (one, index) {
      var colour = one.colour || PALETTE[index % PALETTE.length];
      return {
        name: one.name,
        type: bars ? "bar" : "line",
        data: one.data,
        connectNulls: false,
        showSymbol: spec.x.length <= 40,
        symbolSize: 6,
        itemStyle: { color: colour },
        lineStyle: { width: 2 },
        areaStyle: spec.kind === "progress" ? { opacity: 0.15 } : undefined,
        markLine: index === 0 ? targetLine(spec) : undefined,
        markArea: index === 0 ? periodArea(spec) : undefined
      };
    });
    var yMax;
    if (spec.kind === "share") {
      yMax = 100;
    } else if (spec.target) {
      yMax = function (range) { return Math.max(range.max, spec.target) * 1.1; };
    }
    return {
      aria: { enabled: true },
      animation: false,
      color: PALETTE,
      grid: { left: 16, right: 24, top: 48, bottom: 16, containLabel: true },
      legend: { top: 0, type: "scroll" },
      tooltip: {
        trigger: bars ? "item" : "axis",
        renderMode: "richText",
        valueFormatter: valueText(spec)
      },
      xAxis: {
        type: "category",
        data: spec.x,
        boundaryGap: bars,
        axisLabel: { hideOverlap: true, rotate: bars && spec.x.length > 6 ? 30 : 0 }
      },
      yAxis: {
        type: "value",
        name: spec.labels.unit,
        min: 0,
        max: yMax,
        axisLabel: { formatter: function (value) { return number.format(value); } }
      },
      series: series
    };
  }

  document.querySelectorAll("[data-chart-source]").forEach(function (element) {
    var source = document.getElementById(element.getAttribute("data-chart-source"));
    if (!source) {
      return;
    }
    element.hidden = false;
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(options(JSON.parse(source.textContent)));
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
