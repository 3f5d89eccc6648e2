// kec web UI: small enhancements over server-rendered pages. htmx (4.x) does the requests and
// swaps; this file draws charts, expands rows, handles keys and decides when to auto-refresh.
// Everything works without it except charts, row expansion and auto-refresh.
(function () {
  "use strict";

  const LIVE_KEY = "kec.autoRefresh";
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");

  // ---------------------------------------------------------------- charts

  /** Chart elements currently drawn. */
  const charts = new Set();

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function seriesColor(name) {
    if (name === "Warning") return cssVar("--chart-warning");
    if (name === "Normal") return cssVar("--chart-normal");
    return cssVar("--chart-other");
  }

  function histogramOption(data) {
    const axis = cssVar("--chart-axis");
    const grid = cssVar("--chart-grid");
    const half = data.bucket / 2;
    const series = data.series.map(function (s) {
      return {
        name: s.name,
        type: "bar",
        stack: "type",
        barCategoryGap: "10%",
        large: true,
        itemStyle: { color: seriesColor(s.name) },
        emphasis: { disabled: true },
        // Bars sit in the middle of their bucket, so they span it.
        data: s.data.map(function (value, index) {
          return [data.start + index * data.bucket + half, value];
        }),
      };
    });
    return {
      animation: !reducedMotion.matches,
      aria: { enabled: true },
      textStyle: { fontFamily: cssVar("--sans") || "system-ui, sans-serif", fontSize: 11 },
      grid: { left: 44, right: 12, top: 18, bottom: 22 },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          if (!items.length) return "";
          const start = items[0].value[0] - half;
          const lines = [formatTime(start) + " + " + formatSpan(data.bucket)];
          let total = 0;
          items.forEach(function (item) {
            total += item.value[1];
            const mark = item.seriesName === "Warning" ? "▲ " : "";
            lines.push(item.marker + mark + item.seriesName + ": " + item.value[1].toLocaleString());
          });
          lines.push(total.toLocaleString() + " occurrences");
          return lines.join("<br>");
        },
      },
      toolbox: {
        // Drag-to-zoom without visible icons: the cursor is taken below.
        show: true,
        itemSize: 0,
        showTitle: false,
        feature: { dataZoom: { yAxisIndex: "none", icon: { zoom: "path://", back: "path://" } } },
      },
      xAxis: {
        type: "time",
        min: data.from,
        max: data.to,
        axisLine: { lineStyle: { color: grid } },
        axisLabel: { color: axis, hideOverlap: true },
        splitLine: { show: false },
      },
      yAxis: {
        type: "value",
        name: "occurrences",
        nameTextStyle: { color: axis, align: "left", padding: [0, 0, 0, -36] },
        minInterval: 1,
        splitNumber: 3,
        axisLabel: { color: axis },
        splitLine: { lineStyle: { color: grid } },
      },
      series: series,
    };
  }

  function initHistogram(el) {
    if (el.kecChart || typeof window.echarts === "undefined") return;
    let data;
    try {
      data = JSON.parse(el.dataset.histogram);
    } catch (error) {
      return;
    }
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(histogramOption(data));
    enableBrush(chart);
    chart.on("datazoom", function (event) {
      const batch = (event.batch && event.batch[0]) || event;
      let start = batch.startValue;
      let end = batch.endValue;
      if (start == null || end == null) {
        const zoom = (chart.getOption().dataZoom || [])[0] || {};
        start = zoom.startValue;
        end = zoom.endValue;
      }
      if (start == null || end == null || end - start < 1000) return;
      setRange(new Date(Math.floor(start)), new Date(Math.ceil(end)));
    });
    const resizer = new ResizeObserver(function () { chart.resize(); });
    resizer.observe(el);
    el.kecChart = chart;
    el.kecResizer = resizer;
    charts.add(el);
  }

  function enableBrush(chart) {
    chart.dispatchAction({ type: "takeGlobalCursor", key: "dataZoomSelect", dataZoomSelectActive: true });
  }

  function disposeChart(el) {
    if (el.kecResizer) el.kecResizer.disconnect();
    if (el.kecChart) el.kecChart.dispose();
    el.kecChart = null;
    el.kecResizer = null;
    charts.delete(el);
  }

  function initCharts(root) {
    (root || document).querySelectorAll("[data-histogram]").forEach(initHistogram);
  }

  function disposeChartsIn(root) {
    charts.forEach(function (el) {
      if (root === el || (root.contains && root.contains(el))) disposeChart(el);
    });
  }

  function disposeDetachedCharts() {
    charts.forEach(function (el) {
      if (!el.isConnected) disposeChart(el);
    });
  }

  function redrawCharts() {
    charts.forEach(function (el) { disposeChart(el); });
    initCharts(document);
  }

  // ---------------------------------------------------------------- time

  function formatTime(ms) {
    const date = new Date(ms);
    return date.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function formatSpan(ms) {
    const seconds = Math.round(Math.abs(ms) / 1000);
    if (seconds < 60) return seconds + "s";
    if (seconds < 90 * 60) return Math.round(seconds / 60) + "m";
    if (seconds < 36 * 3600) return Math.round(seconds / 3600) + "h";
    return Math.round(seconds / 86400) + "d";
  }

  function relative(ms) {
    const age = Date.now() - ms;
    if (Math.abs(age) < 5000) return "just now";
    if (age > 30 * 86400 * 1000) return new Date(ms).toISOString().slice(0, 10);
    return age < 0 ? "in " + formatSpan(age) : formatSpan(age) + " ago";
  }

  /** Refreshes relative times and gives every time a local + UTC tooltip. */
  function updateTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (el) {
      const ms = Date.parse(el.getAttribute("datetime"));
      if (isNaN(ms)) return;
      el.textContent = relative(ms);
      if (!el.dataset.titled) {
        el.title = formatTime(ms) + " (local)\n" + el.title;
        el.dataset.titled = "1";
      }
    });
  }

  // ---------------------------------------------------------------- query form

  function queryForm() {
    return document.getElementById("query");
  }

  function submitQuery() {
    const form = queryForm();
    if (form) form.requestSubmit();
  }

  function setRange(from, to) {
    const form = queryForm();
    if (!form) return;
    form.elements.from.value = from.toISOString().replace(/\.\d{3}Z$/, "Z");
    form.elements.to.value = to.toISOString().replace(/\.\d{3}Z$/, "Z");
    const preset = document.getElementById("range");
    if (preset) preset.value = "custom";
    form.requestSubmit();
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.matches("[data-autosubmit]")) {
      submitQuery();
    } else if (target.matches("[data-range]")) {
      const form = queryForm();
      if (target.value === "custom") {
        form.elements.from.focus();
        form.elements.from.select();
        return;
      }
      form.elements.from.value = target.value;
      form.elements.to.value = "";
      submitQuery();
    } else if (target.id === "live") {
      localStorage.setItem(LIVE_KEY, target.checked ? "on" : "off");
      updateLiveStatus();
    }
  });

  // Short URLs: blank inputs are not state.
  document.addEventListener("htmx:config:request", function (event) {
    const ctx = event.detail.ctx;
    if (!ctx || !ctx.sourceElement || ctx.sourceElement.id !== "query") return;
    const body = ctx.request.body;
    if (!body || typeof body.entries !== "function") return;
    const kept = Array.from(body.entries()).filter(function (entry) {
      return String(entry[1]).trim() !== "";
    });
    Array.from(new Set(Array.from(body.keys()))).forEach(function (key) { body.delete(key); });
    kept.forEach(function (entry) { body.append(entry[0], entry[1]); });
  });

  // ---------------------------------------------------------------- rows

  function detailOf(row) {
    const button = row.querySelector("button.expand");
    return button ? document.getElementById(button.getAttribute("aria-controls")) : null;
  }

  function toggleRow(row, open) {
    const button = row.querySelector("button.expand");
    const detail = detailOf(row);
    if (!button || !detail) return;
    if (open === undefined) open = detail.hidden;
    detail.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    row.classList.toggle("open", open);
    updateLiveStatus();
  }

  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.getElementById(copy.dataset.copy);
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent).then(function () {
          const label = copy.textContent;
          copy.textContent = "Copied";
          setTimeout(function () { copy.textContent = label; }, 1200);
        });
      }
      return;
    }
    const row = event.target.closest("tr.ev");
    if (!row || event.button !== 0) return;
    // Links filter; selecting text must not toggle.
    if (event.target.closest("a, input, select, textarea")) return;
    const selection = window.getSelection();
    if (selection && selection.toString() && !event.target.closest("button")) return;
    toggleRow(row);
  });

  function rows() {
    return Array.from(document.querySelectorAll("tr.ev"));
  }

  function moveFocus(step) {
    const all = rows();
    if (!all.length) return;
    const current = document.activeElement && document.activeElement.closest("tr.ev");
    let index = current ? all.indexOf(current) + step : (step > 0 ? 0 : all.length - 1);
    index = Math.max(0, Math.min(all.length - 1, index));
    all[index].focus();
    all[index].scrollIntoView({ block: "nearest" });
  }

  // ---------------------------------------------------------------- keys

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      if (typing) {
        target.blur();
      } else {
        document.querySelectorAll("tr.ev.open").forEach(function (row) { toggleRow(row, false); });
      }
      return;
    }
    if (typing) return;
    const row = target.closest && target.closest("tr.ev");
    switch (event.key) {
      case "/": {
        const search = document.getElementById("q");
        if (search) { event.preventDefault(); search.focus(); search.select(); }
        break;
      }
      case "j": event.preventDefault(); moveFocus(1); break;
      case "k": event.preventDefault(); moveFocus(-1); break;
      case "o":
      case "Enter":
        if (row && target === row) { event.preventDefault(); toggleRow(row); }
        break;
      case "w": {
        const warnings = document.querySelector(".warning-switch input");
        if (warnings) { warnings.checked = !warnings.checked; submitQuery(); }
        break;
      }
      case "l": {
        const live = document.getElementById("live");
        if (live) { live.click(); }
        break;
      }
      case "-": {
        const zoomOut = document.querySelector("[aria-keyshortcuts='-']");
        if (zoomOut) zoomOut.click();
        break;
      }
    }
  });

  // ---------------------------------------------------------------- auto-refresh

  function liveEnabled() {
    return localStorage.getItem(LIVE_KEY) !== "off";
  }

  /** Why auto-refresh waits right now, or "" when it may run. */
  function pauseReason(section) {
    if (!section) return "off";
    if (!section.hasAttribute("hx-trigger")) return section.dataset.pollOff || "off";
    if (!liveEnabled()) return "paused";
    if (section.querySelector("tr.ev.open")) return "paused while a row is open";
    if (section.querySelectorAll("tbody.rows").length > 1) return "paused: more rows loaded";
    const selection = window.getSelection();
    if (selection && selection.toString() && section.contains(selection.anchorNode)) {
      return "paused while text is selected";
    }
    return "";
  }

  function updateLiveStatus() {
    const status = document.getElementById("live-status");
    const live = document.getElementById("live");
    if (!status || !live) return;
    live.checked = liveEnabled();
    const reason = pauseReason(document.getElementById("results"));
    status.textContent = reason ? reason : "every 10 s";
  }

  window.kec = {
    /** The poll filter of #results (`hx-trigger="every 10s[kec.shouldRefresh(this)]"`). */
    shouldRefresh: function (section) {
      updateLiveStatus();
      return !document.hidden && pauseReason(section || document.getElementById("results")) === "";
    },
  };

  // ---------------------------------------------------------------- lifecycle

  function enhance(root) {
    (root || document).querySelectorAll("[data-origin]").forEach(function (el) {
      el.textContent = window.location.origin;
    });
    initCharts(root);
    updateTimes(root);
    updateLiveStatus();
  }

  document.addEventListener("htmx:before:cleanup", function (event) {
    disposeChartsIn(event.target);
  });
  document.addEventListener("htmx:after:swap", function (event) {
    disposeDetachedCharts();
    const root = event.detail && event.detail.ctx && event.detail.ctx.target;
    enhance(root && root.isConnected ? root.parentNode || document : document);
  });
  document.addEventListener("selectionchange", function () {
    if (document.getElementById("live-status")) updateLiveStatus();
  });
  darkScheme.addEventListener("change", redrawCharts);
  setInterval(function () { updateTimes(document); }, 30000);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
