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
    (root || document).querySelectorAll("[data-timeline]").forEach(initTimeline);
    (root || document).querySelectorAll("[data-sparkline]").forEach(initSparkline);
    (root || document).querySelectorAll("[data-series]").forEach(initSeries);
  }

  /** A query-language timechart: one line per series. */
  function initSeries(el) {
    if (el.kecChart || typeof window.echarts === "undefined") return;
    let data;
    try { data = JSON.parse(el.dataset.series); } catch (error) { return; }
    const palette = ["#e69f00", "#56b4e9", "#009e73", "#0072b2", "#d55e00", "#cc79a7", "#f0e442", "#999999"];
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: !reducedMotion.matches,
      aria: { enabled: true },
      color: palette,
      grid: { left: 48, right: 12, top: 28, bottom: 22 },
      legend: { top: 0, textStyle: { color: cssVar("--chart-axis") } },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time", axisLabel: { color: cssVar("--chart-axis"), hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { color: cssVar("--chart-axis") }, splitLine: { lineStyle: { color: cssVar("--chart-grid") } } },
      series: data.series.map(function (line) {
        return {
          name: line.name, type: "line", showSymbol: false,
          data: line.values.map(function (value, index) { return [data.buckets[index], value]; }),
        };
      }),
    });
    track(el, chart);
  }

  function track(el, chart) {
    const resizer = new ResizeObserver(function () { chart.resize(); });
    resizer.observe(el);
    el.kecChart = chart;
    el.kecResizer = resizer;
    charts.add(el);
  }

  /** A 24-bucket Warning sparkline (clusters page). */
  function initSparkline(el) {
    if (el.kecChart || typeof window.echarts === "undefined") return;
    let data;
    try { data = JSON.parse(el.dataset.sparkline); } catch (error) { return; }
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      aria: { enabled: true },
      grid: { left: 1, right: 1, top: 2, bottom: 1 },
      xAxis: { type: "category", show: false, data: data.map(function (_, i) { return i; }) },
      yAxis: { type: "value", show: false, min: 0 },
      series: [{ type: "bar", data: data, barCategoryGap: "15%", itemStyle: { color: cssVar("--chart-warning") }, silent: true }],
    });
    track(el, chart);
  }

  /** Swimlanes of one object's Events (lifecycle and node pages). */
  function timelineOption(data) {
    const axis = cssVar("--chart-axis");
    const grid = cssVar("--chart-grid");
    const warning = cssVar("--chart-warning");
    const normal = cssVar("--chart-normal");
    const danger = cssVar("--chart-danger") || "#d55e00";
    const items = data.items.map(function (item) {
      return { value: [item[0], item[1], item[2], item[3]], label: item[4], message: item[5] };
    });
    function renderBar(params, api) {
      const lane = api.value(0);
      const start = api.coord([api.value(1), lane]);
      const end = api.coord([api.value(2), lane]);
      const height = api.size([0, 1])[1] * 0.56;
      const item = items[params.dataIndex];
      const shape = window.echarts.graphic.clipRectByRect(
        { x: start[0], y: start[1] - height / 2, width: Math.max(end[0] - start[0], 5), height: height },
        { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height }
      );
      if (!shape) return null;
      return {
        type: "rect",
        shape: shape,
        style: { fill: api.value(3) ? warning : normal, stroke: api.value(3) ? warning : "transparent" },
        textContent: { style: { text: (api.value(3) ? "▲ " : "") + item.label, fill: cssVar("--text"), fontSize: 11 } },
        textConfig: { position: "right", distance: 4 },
      };
    }
    return {
      animation: !reducedMotion.matches,
      aria: { enabled: true },
      textStyle: { fontFamily: cssVar("--sans") || "system-ui, sans-serif", fontSize: 11 },
      grid: { left: 120, right: 24, top: 8, bottom: 48 },
      tooltip: {
        formatter: function (p) {
          if (p.seriesType !== "custom") return p.name || "";
          const item = items[p.dataIndex];
          return item.label + "<br>" + formatTime(item.value[1]) + " → " + formatTime(item.value[2]) +
            "<br>" + String(item.message).replace(/[<>&]/g, "");
        },
      },
      xAxis: {
        type: "time", min: data.from, max: data.to,
        axisLabel: { color: axis, hideOverlap: true }, axisLine: { lineStyle: { color: grid } },
        splitLine: { show: true, lineStyle: { color: grid } },
      },
      yAxis: {
        type: "category", data: data.lanes, inverse: true,
        axisLabel: { color: axis }, axisTick: { show: false }, axisLine: { lineStyle: { color: grid } },
        splitLine: { show: true, lineStyle: { color: grid } },
      },
      dataZoom: [
        { type: "inside", xAxisIndex: 0, filterMode: "weakFilter" },
        { type: "slider", xAxisIndex: 0, filterMode: "weakFilter", height: 16, bottom: 6 },
      ],
      series: [
        {
          type: "custom", name: "events", renderItem: renderBar, encode: { x: [1, 2], y: 0 }, data: items,
          markLine: {
            silent: false, symbol: "none",
            lineStyle: { color: danger, width: 1.5, type: "solid" },
            label: { show: false },
            tooltip: { formatter: function (p) { return p.name + " at " + formatTime(p.value); } },
            data: data.markers.map(function (m) { return { xAxis: m[0], name: m[1] }; }),
          },
        },
        {
          type: "scatter", name: "observations", symbol: "rect", symbolSize: [1.5, 14], silent: true,
          itemStyle: { color: axis, opacity: 0.8 },
          data: data.ticks.map(function (t) { return [t[1], t[0]]; }),
        },
      ],
    };
  }

  function initTimeline(el) {
    if (el.kecChart || typeof window.echarts === "undefined") return;
    let data;
    try { data = JSON.parse(el.dataset.timeline); } catch (error) { return; }
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(timelineOption(data));
    track(el, chart);
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
    const form = queryForm() || document.querySelector("form.scope");
    if (!form) return;
    form.elements.from.value = from.toISOString().replace(/\.\d{3}Z$/, "Z");
    form.elements.to.value = to.toISOString().replace(/\.\d{3}Z$/, "Z");
    const preset = document.getElementById("range") || document.getElementById("scope-range");
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
    } else if (target.matches("[data-autosubmit-form]")) {
      target.form.requestSubmit();
    } else if (target.matches("[data-scope-range]")) {
      if (target.value === "custom") { target.form.elements.from.focus(); return; }
      target.form.elements.from.value = target.value;
      target.form.elements.to.value = "";
      target.form.requestSubmit();
    } else if (target.id === "tail") {
      setTail(target.checked);
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

  /** Rows do not carry their raw Event: an opened row reads it once (GET /events/record). */
  function loadDetail(detail) {
    const holder = detail.querySelector("[data-detail-url]");
    if (!holder || holder.dataset.loaded) return;
    holder.dataset.loaded = "1";
    fetch(holder.dataset.detailUrl, { headers: { "HX-Request": "true" } })
      .then(function (response) { return response.text(); })
      .then(function (html) { holder.innerHTML = html; })
      .catch(function (error) {
        holder.dataset.loaded = "";
        holder.textContent = "The Event could not be loaded: " + error;
      });
  }

  function toggleRow(row, open) {
    const button = row.querySelector("button.expand");
    const detail = detailOf(row);
    if (!button || !detail) return;
    if (open === undefined) open = detail.hidden;
    detail.hidden = !open;
    if (open) loadDetail(detail);
    button.setAttribute("aria-expanded", String(open));
    row.classList.toggle("open", open);
    updateLiveStatus();
  }

  // Alt-click on a value that filters excludes it instead (UI.md: click to filter).
  document.addEventListener("click", function (event) {
    if (!event.altKey) return;
    const link = event.target.closest("[data-exclude]");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    window.location.assign(link.dataset.exclude);
  }, true);

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
        const tail = document.getElementById("tail");
        if (tail) { tail.click(); }
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

  // ---------------------------------------------------------------- live tail

  let tailSource = null;
  let tailUrl = "";
  let tailNew = 0;
  // Rows the tail added stay under a cap: the oldest go first, and the status says so.
  const TAIL_CAP = 500;
  let tailDropped = 0;
  let tailTimes = [];
  let tailDisconnected = false;

  /** "12 new · 4/min · 3 older rows dropped". */
  function tailSummary(extra) {
    const now = Date.now();
    tailTimes = tailTimes.filter(function (t) { return now - t < 60000; });
    let text = tailNew + " new · " + tailTimes.length + "/min";
    if (tailDropped) text += " · " + tailDropped + " older rows dropped";
    return extra ? text + ", " + extra : text;
  }

  function capTail(tbody) {
    const added = Array.from(tbody.querySelectorAll("tr.ev.tail-new, tr.ev.tail-repeat"));
    for (let index = added.length - 1; index >= TAIL_CAP; index -= 1) {
      const detail = detailOf(added[index]);
      if (detail) detail.remove();
      added[index].remove();
      tailDropped += 1;
    }
  }

  function tailGapRow(text) {
    const tbody = document.querySelector("#results tbody.rows");
    if (!tbody) return;
    const row = document.createElement("tr");
    row.className = "tail-gap";
    const cell = document.createElement("td");
    cell.colSpan = 9;
    cell.textContent = text;
    row.appendChild(cell);
    tbody.insertBefore(row, tbody.firstElementChild);
  }

  function tailStatus(text) {
    const status = document.getElementById("tail-status");
    if (status) status.textContent = text;
  }

  function currentTailUrl() {
    const body = document.querySelector("[data-tail-url]");
    return body ? body.dataset.tailUrl : "";
  }

  // Paused while the reader is in the table (hover, scrolled down, a row open, text
  // selected): new rows wait in a buffer behind a sticky "Paused · N new · Resume" banner.
  let tailHeld = [];
  let tailHover = false;
  let tailResumed = false;

  function tailPauseReason() {
    if (tailResumed) return "";
    if (tailHover) return "pointer over the table";
    if (window.scrollY > 120) return "scrolled";
    if (document.querySelector("#results tr.ev.open")) return "a row is open";
    const selection = window.getSelection();
    if (selection && selection.toString()) return "text selected";
    return "";
  }

  function tailBanner() {
    const banner = document.getElementById("tail-banner");
    if (!banner) return;
    banner.hidden = tailHeld.length === 0;
    const count = banner.querySelector("[data-tail-held]");
    if (count) count.textContent = String(tailHeld.length);
  }

  /** Shows one tail row: a repeat of a row already shown replaces it (its ×N updates). */
  function showTailItem(item) {
    const tbody = document.querySelector("#results tbody.rows");
    if (!tbody || !item.html) return;
    const template = document.createElement("template");
    template.innerHTML = item.html.trim();
    const rows = Array.from(template.content.children);
    const key = rows[0] && rows[0].dataset.key;
    let repeat = false;
    if (key) {
      tbody.querySelectorAll("tr.ev").forEach(function (old) {
        if (old.dataset.key !== key) return;
        const detail = detailOf(old);
        if (detail) detail.remove();
        old.remove();
        repeat = true;
      });
    }
    rows.forEach(function (row) { row.classList.add(repeat ? "tail-repeat" : "tail-new"); });
    const first = tbody.firstElementChild;
    rows.forEach(function (row) { tbody.insertBefore(row, first); });
    capTail(tbody);
    updateTimes(tbody);
  }

  function flushTail() {
    const held = tailHeld;
    tailHeld = [];
    held.forEach(showTailItem);
    tailBanner();
  }

  function onTailEvent(message) {
    let item;
    try { item = JSON.parse(message.data); } catch (error) { return; }
    tailNew += 1;
    tailTimes.push(Date.now());
    if (tailPauseReason()) {
      tailHeld.push(item);
      tailBanner();
      tailStatus(tailSummary("paused"));
      return;
    }
    tailResumed = false;
    showTailItem(item);
    tailStatus(tailSummary());
  }

  document.addEventListener("mouseover", function (event) {
    tailHover = !!event.target.closest("#results .table-wrap");
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-tail-clear]")) return;
    document.querySelectorAll("#results tr.ev.tail-new, #results tr.ev.tail-repeat").forEach(function (row) {
      const detail = detailOf(row);
      if (detail) detail.remove();
      row.remove();
    });
    document.querySelectorAll("#results tr.tail-gap").forEach(function (row) { row.remove(); });
    tailHeld = [];
    tailNew = 0;
    tailDropped = 0;
    tailBanner();
    if (tailSource) tailStatus("cleared");
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-tail-resume]")) return;
    tailResumed = true;
    tailHover = false;
    window.scrollTo({ top: 0 });
    flushTail();
  });
  // Leaving the table (or scrolling back up) resumes by itself.
  setInterval(function () {
    if (tailHeld.length && !tailPauseReason()) flushTail();
  }, 500);

  function setTail(on) {
    if (tailSource) { tailSource.close(); tailSource = null; }
    const toggle = document.getElementById("tail");
    if (toggle) toggle.checked = on;
    const clear = document.getElementById("tail-clear");
    if (clear) clear.hidden = !on;
    if (!on) { tailStatus(""); return; }
    tailUrl = currentTailUrl();
    if (!tailUrl || typeof window.EventSource === "undefined") { tailStatus("unavailable"); return; }
    tailNew = 0;
    tailDropped = 0;
    tailTimes = [];
    tailHeld = [];
    tailBanner();
    tailSource = new EventSource(tailUrl);
    tailSource.addEventListener("open", function () {
      tailDisconnected = false;
      tailStatus(tailNew ? tailSummary() : "connected");
    });
    tailSource.addEventListener("event", onTailEvent);
    tailSource.addEventListener("gap", function (message) {
      const text = "fell behind: " + message.data + " events skipped, refresh to see them";
      tailGapRow(text);
      tailStatus(text);
    });
    tailSource.addEventListener("error", function () {
      tailStatus("reconnecting…");
      if (tailDisconnected) return;
      tailDisconnected = true;
      tailGapRow("disconnected at " + new Date().toLocaleTimeString() + "; events in between show after a refresh");
    });
  }

  /** After the results change, a running tail follows their filters. */
  function refreshTail() {
    if (tailSource && currentTailUrl() !== tailUrl) setTail(true);
  }

  // ---------------------------------------------------------------- lifecycle

  function enhance(root) {
    (root || document).querySelectorAll("[data-origin]").forEach(function (el) {
      el.textContent = window.location.origin;
    });
    initCharts(root);
    updateTimes(root);
    updateLiveStatus();
    refreshTail();
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
