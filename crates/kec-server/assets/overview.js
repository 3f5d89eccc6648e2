// kec web UI: the overview's namespace x time heatmap of Warnings ([data-ns-heatmap]).
// A cell opens the details page for that namespace's Warnings in that bucket. Colours come
// from CSS variables when drawn; a theme switch (kec:theme) or a colour-scheme change redraws.
(function () {
  "use strict";

  if (typeof window.echarts === "undefined") return;
  const echarts = window.echarts;
  const drawn = new Set();

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function formatTime(ms) {
    return new Date(ms).toLocaleString(undefined, {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  /** `{namespaces, urls, buckets, bucket, values: [[bucket, namespace, occurrences]], max}`. */
  function heatmapOption(data) {
    const axis = cssVar("--chart-axis");
    const days = data.buckets.length > 1 &&
      data.buckets[data.buckets.length - 1] - data.buckets[0] >= 86400000;
    return {
      animation: false,
      aria: { enabled: true },
      textStyle: { fontSize: 11, color: cssVar("--text"), fontFamily: cssVar("--sans") || "system-ui, sans-serif" },
      grid: { left: 150, right: 16, top: 8, bottom: 56 },
      tooltip: {
        backgroundColor: cssVar("--bg-raised"),
        borderColor: cssVar("--border"),
        textStyle: { color: cssVar("--text") },
        formatter: function (p) {
          const start = data.buckets[p.value[0]];
          return escapeHtml(data.namespaces[p.value[1]]) + "<br>" + formatTime(start) + " → " +
            formatTime(start + data.bucket) + "<br>" + p.value[2].toLocaleString() + " Warning occurrences";
        },
      },
      xAxis: {
        type: "category",
        data: data.buckets.map(function (ms) {
          const date = new Date(ms);
          return days
            ? date.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit" })
            : date.toLocaleString(undefined, { hour: "2-digit", minute: "2-digit" });
        }),
        axisLabel: { hideOverlap: true, color: axis },
        axisLine: { lineStyle: { color: cssVar("--chart-grid") } },
      },
      yAxis: {
        type: "category", data: data.namespaces, inverse: true, axisTick: { show: false },
        axisLabel: { color: axis, width: 140, overflow: "truncate" },
      },
      visualMap: {
        min: 0, max: Math.max(1, data.max), calculable: false, orient: "horizontal",
        left: "center", bottom: 4, itemHeight: 120, itemWidth: 10, text: ["more", "fewer"],
        textStyle: { color: axis },
        inRange: { color: [cssVar("--bg-subtle") || "#f5f7fa", cssVar("--chart-warning"), cssVar("--chart-danger")] },
      },
      series: [{
        type: "heatmap", name: "Warning occurrences", data: data.values,
        emphasis: { itemStyle: { borderColor: cssVar("--text"), borderWidth: 1 } },
      }],
    };
  }

  /** The details URL of a namespace's Warnings narrowed to one bucket. */
  function cellUrl(data, value) {
    const base = data.urls[value[1]];
    const start = data.buckets[value[0]];
    if (!base || start === undefined) return null;
    const url = new URL(base, location.href);
    url.searchParams.set("from", new Date(start).toISOString());
    url.searchParams.set("to", new Date(start + data.bucket).toISOString());
    return url.pathname + url.search;
  }

  function draw(el) {
    if (el.kecChart) return;
    let data;
    try { data = JSON.parse(el.dataset.nsHeatmap); } catch (error) { return; }
    el.style.height = Math.max(160, data.namespaces.length * 24 + 72) + "px";
    const chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(heatmapOption(data));
    chart.on("click", { seriesIndex: 0 }, function (p) {
      const url = cellUrl(data, p.value);
      if (url) location.assign(url);
    });
    const resizer = new ResizeObserver(function () { chart.resize(); });
    resizer.observe(el);
    el.kecChart = chart;
    el.kecResizer = resizer;
    el.kecData = data;
    drawn.add(el);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-ns-heatmap]").forEach(draw);
  }

  function redraw() {
    drawn.forEach(function (el) {
      if (!el.isConnected || !el.kecChart) { drawn.delete(el); return; }
      el.kecChart.setOption(heatmapOption(el.kecData), true);
    });
  }

  document.addEventListener("kec:theme", redraw);
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redraw);
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
  drawAll(document);
})();
