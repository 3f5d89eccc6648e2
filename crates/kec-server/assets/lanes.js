// kec web UI: the story charts of the lifecycle and node pages. Swimlanes of one object's
// Events with the pod's phase band on top ([data-timeline]), a node's condition timeline
// ([data-conditions], same drawing, state spans instead of Events) and the node x time heatmap
// of problem events ([data-heatmap]).
//
// Loaded before app.js: it draws [data-timeline] first and marks the element (kecChart), so
// app.js's older swimlane drawing skips it. Colours are read from CSS variables at render
// time, so a theme switch only needs setTheme (which re-renders) on each chart.
(function () {
  "use strict";

  if (typeof window.echarts === "undefined") return;
  const echarts = window.echarts;
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const drawn = new Set();

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  /** An ECharts theme from the page's CSS variables (text, axes, tooltip). */
  function theme() {
    const axis = cssVar("--chart-axis");
    const grid = cssVar("--chart-grid");
    const axisStyle = {
      axisLine: { lineStyle: { color: grid } },
      axisLabel: { color: axis },
      splitLine: { lineStyle: { color: grid } },
    };
    return {
      backgroundColor: "transparent",
      textStyle: { color: cssVar("--text"), fontFamily: cssVar("--sans") || "system-ui, sans-serif" },
      categoryAxis: axisStyle,
      timeAxis: axisStyle,
      valueAxis: axisStyle,
      tooltip: {
        backgroundColor: cssVar("--bg-raised"),
        borderColor: cssVar("--border"),
        textStyle: { color: cssVar("--text") },
      },
      dataZoom: { textStyle: { color: axis }, borderColor: grid },
      visualMap: { textStyle: { color: axis } },
    };
  }

  function themeName() {
    const dark = cssVar("--kec-scheme") === "dark";
    return dark ? "kec-dark" : "kec-light";
  }

  function registerTheme() {
    const name = themeName();
    echarts.registerTheme(name, theme());
    return name;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function formatTime(ms) {
    return new Date(ms).toLocaleString(undefined, {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  /** `14:05`, or `Nov 25 14:05` for a range of days. */
  function shortTime(ms) {
    return new Date(ms).toLocaleString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  const PHASE_VARS = {
    Pending: "--chart-other",
    Running: "--chart-ok",
    "Back-off": "--chart-warning",
    Terminated: "--chart-danger",
  };

  /**
   * Swimlanes: `{from, to, lanes, items: [[lane, start, end, warning, label, message]],
   * ticks: [[lane, time]], markers: [[time, kind]], phases?: [[start, end, phase]],
   * states?: true}`. With `states`, item[3] = 1 is a bad condition (red) and 0 a good one.
   */
  function lanesOption(data) {
    const phases = data.phases || [];
    const offset = phases.length ? 1 : 0;
    const lanes = (offset ? ["Phase"] : []).concat(data.lanes);
    const items = data.items.map(function (item) {
      return { value: [item[0] + offset, item[1], item[2], item[3]], label: item[4], message: item[5] };
    });
    function box(params, api, lane, start, end, fraction) {
      const from = api.coord([start, lane]);
      const to = api.coord([end, lane]);
      const height = api.size([0, 1])[1] * fraction;
      return echarts.graphic.clipRectByRect(
        { x: from[0], y: from[1] - height / 2, width: Math.max(to[0] - from[0], 5), height: height },
        { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height }
      );
    }
    function renderBar(params, api) {
      const item = items[params.dataIndex];
      const shape = box(params, api, api.value(0), api.value(1), api.value(2), 0.56);
      if (!shape) return null;
      const flagged = api.value(3) === 1;
      let fill;
      if (data.states) fill = flagged ? cssVar("--chart-danger") : cssVar("--chart-ok");
      else fill = flagged ? cssVar("--chart-warning") : cssVar("--chart-normal");
      const mark = flagged ? (data.states ? "✖ " : "▲ ") : "";
      const element = {
        type: "rect",
        shape: shape,
        style: { fill: fill, opacity: data.states && !flagged ? 0.55 : 1 },
      };
      const text = mark + item.label;
      if (!data.states) {
        element.textContent = { style: { text: text, fill: cssVar("--text"), fontSize: 11 } };
        element.textConfig = { position: "right", distance: 4 };
      } else if (shape.width > text.length * 6.5 + 8) {
        // A state span carries its name inside; a short one only in the tooltip.
        element.textContent = { style: { text: text, fill: "#1a1f26", fontSize: 11 } };
        element.textConfig = { position: "insideLeft", distance: 4 };
      } else if (flagged) {
        // A short bad span or a problem: named beside it.
        element.textContent = { style: { text: text, fill: cssVar("--text"), fontSize: 11 } };
        element.textConfig = { position: "right", distance: 4 };
      }
      return element;
    }
    function renderPhase(params, api) {
      const shape = box(params, api, 0, api.value(0), api.value(1), 0.8);
      if (!shape) return null;
      const phase = phases[params.dataIndex][2];
      const element = {
        type: "rect",
        shape: shape,
        style: { fill: cssVar(PHASE_VARS[phase] || "--chart-normal"), opacity: 0.85 },
      };
      // A name only where it fits; the tooltip names every span.
      if (shape.width > phase.length * 7 + 8) {
        element.textContent = { style: { text: phase, fill: "#1a1f26", fontSize: 11, fontWeight: 600 } };
        element.textConfig = { position: "insideLeft", distance: 4 };
      }
      return element;
    }
    const series = [
      {
        type: "custom", name: data.states ? "conditions" : "events", renderItem: renderBar,
        encode: { x: [1, 2], y: 0 }, data: items,
        markLine: {
          silent: false, symbol: "none",
          lineStyle: { color: cssVar("--chart-danger"), width: 1.5, type: "solid" },
          label: { show: false },
          tooltip: { formatter: function (p) { return escapeHtml(p.name) + " at " + formatTime(p.value); } },
          data: (data.markers || []).map(function (m) { return { xAxis: m[0], name: m[1] }; }),
        },
      },
      {
        type: "scatter", name: "observations", symbol: "rect", symbolSize: [1.5, 14], silent: true,
        itemStyle: { color: cssVar("--chart-axis"), opacity: 0.8 },
        data: (data.ticks || []).map(function (t) { return [t[1], t[0] + offset]; }),
      },
    ];
    if (offset) {
      series.push({
        type: "custom", name: "phase", renderItem: renderPhase, encode: { x: [0, 1] },
        data: phases.map(function (p) { return [p[0], p[1]]; }),
      });
    }
    return {
      animation: !reducedMotion.matches,
      aria: { enabled: true },
      textStyle: { fontSize: 11 },
      grid: { left: 130, right: 24, top: 8, bottom: 48 },
      tooltip: {
        confine: true,
        formatter: function (p) {
          if (p.seriesName === "phase") {
            const span = phases[p.dataIndex];
            return escapeHtml(span[2]) + "<br>" + formatTime(span[0]) + " → " + formatTime(span[1]) +
              "<br><span style='opacity:.7'>inferred from the Events</span>";
          }
          if (p.seriesType !== "custom") return escapeHtml(p.name || "");
          const item = items[p.dataIndex];
          return escapeHtml(item.label) + "<br>" + formatTime(item.value[1]) + " → " +
            formatTime(item.value[2]) + "<br>" + escapeHtml(item.message);
        },
      },
      xAxis: { type: "time", min: data.from, max: data.to, axisLabel: { hideOverlap: true }, splitLine: { show: true } },
      yAxis: {
        type: "category", data: lanes, inverse: true, axisTick: { show: false }, splitLine: { show: true },
        axisLabel: { width: 120, overflow: "truncate" },
      },
      dataZoom: [
        { type: "inside", xAxisIndex: 0, filterMode: "weakFilter" },
        { type: "slider", xAxisIndex: 0, filterMode: "weakFilter", height: 16, bottom: 6 },
      ],
      series: series,
    };
  }

  /** Hovering a bar highlights its table row (`tr[data-item]`), and hovering a row shows its bar. */
  function linkRows(el, chart) {
    const table = el.closest("section, main") && el.closest("section, main").querySelector("table.story");
    if (!table) return;
    function row(index) { return table.querySelector("tr[data-item='" + index + "']"); }
    chart.on("mouseover", { seriesIndex: 0 }, function (p) {
      const tr = row(p.dataIndex);
      if (tr) tr.classList.add("hover");
    });
    chart.on("mouseout", { seriesIndex: 0 }, function (p) {
      const tr = row(p.dataIndex);
      if (tr) tr.classList.remove("hover");
    });
    table.addEventListener("mouseover", function (event) {
      const tr = event.target.closest("tr[data-item]");
      if (tr) chart.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: Number(tr.dataset.item) });
    });
    table.addEventListener("mouseleave", function () { chart.dispatchAction({ type: "hideTip" }); });
  }

  /** `{nodes, buckets, bucket, values: [[bucketIndex, nodeIndex, occurrences]], max}`. */
  function heatmapOption(data) {
    return {
      animation: false,
      aria: { enabled: true },
      textStyle: { fontSize: 11 },
      grid: { left: 150, right: 16, top: 8, bottom: 56 },
      tooltip: {
        formatter: function (p) {
          const start = data.buckets[p.value[0]];
          return escapeHtml(data.nodes[p.value[1]]) + "<br>" + formatTime(start) + " + " +
            Math.round(data.bucket / 60000) + " min<br>" + p.value[2].toLocaleString() + " problem occurrences";
        },
      },
      xAxis: {
        type: "category", data: data.buckets.map(shortTime),
        axisLabel: { hideOverlap: true }, splitArea: { show: false },
      },
      yAxis: { type: "category", data: data.nodes, inverse: true, axisTick: { show: false } },
      visualMap: {
        min: 0, max: Math.max(1, data.max), calculable: false, orient: "horizontal",
        left: "center", bottom: 4, itemHeight: 120, itemWidth: 10, text: ["more", "fewer"],
        inRange: { color: [cssVar("--bg-subtle") || "#f5f7fa", cssVar("--chart-warning"), cssVar("--chart-danger")] },
      },
      series: [{ type: "heatmap", name: "problem occurrences", data: data.values, emphasis: { itemStyle: { borderColor: cssVar("--text"), borderWidth: 1 } } }],
    };
  }

  const KINDS = [
    ["data-timeline", "timeline", lanesOption],
    ["data-conditions", "conditions", lanesOption],
    ["data-workload", "workload", lanesOption],
    ["data-heatmap", "heatmap", heatmapOption],
  ];

  function draw(el, attribute, build) {
    if (el.kecChart) return;
    let data;
    try { data = JSON.parse(el.getAttribute(attribute)); } catch (error) { return; }
    const chart = echarts.init(el, registerTheme(), { renderer: "canvas" });
    chart.setOption(build(data));
    if (attribute === "data-timeline") linkRows(el, chart);
    if (attribute === "data-workload" && el.dataset.podUrl) {
      // A click on a pod's bar opens that pod's lifecycle.
      chart.on("click", { seriesIndex: 0 }, function (p) {
        const pod = data.lanes[p.value[0]];
        if (pod) location.assign(el.dataset.podUrl + encodeURIComponent(pod));
      });
    }
    const resizer = new ResizeObserver(function () { chart.resize(); });
    resizer.observe(el);
    el.kecChart = chart;
    el.kecResizer = resizer;
    el.kecLanes = true;
    drawn.add(el);
  }

  function drawAll(root) {
    KINDS.forEach(function (kind) {
      (root || document).querySelectorAll("[" + kind[0] + "]").forEach(function (el) {
        draw(el, kind[0], kind[2]);
      });
    });
  }

  /** After a theme switch: the theme is rebuilt from the CSS variables and set on each chart. */
  function retheme() {
    const name = registerTheme();
    drawn.forEach(function (el) {
      if (!el.isConnected || !el.kecChart) { drawn.delete(el); return; }
      el.kecChart.setTheme(name);
    });
  }

  window.kecLanes = { draw: drawAll, retheme: retheme, charts: drawn };
  document.addEventListener("kec:theme", retheme);
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", retheme);
  document.addEventListener("htmx:before:cleanup", function (event) {
    drawn.forEach(function (el) {
      if (event.target === el || (event.target.contains && event.target.contains(el))) {
        if (el.kecResizer) el.kecResizer.disconnect();
        if (el.kecChart) el.kecChart.dispose();
        el.kecChart = null;
        drawn.delete(el);
      }
    });
  });
  document.addEventListener("htmx:after:swap", function () { drawAll(document); });
  // Deferred scripts run after parsing, in order: the page is there, app.js not yet.
  drawAll(document);
})();
