// kec web UI: keys on every page, the ? help overlay, the light/dark/auto theme and "Copy link".
//
// app.js (loaded first) already handles, on the Events and Query pages: / (focus #q), j/k over
// the event rows, o/Enter (expand), w (Warnings-only switch), l (live tail), - (the results'
// "Zoom out" link) and Esc. This file adds what is missing there and everywhere else, and never
// acts on a key app.js took: a keydown app.js handled has defaultPrevented set, or the element
// app.js clicks exists on the page.
(function () {
  "use strict";

  const THEME_KEY = "kec.theme";
  const THEMES = ["auto", "light", "dark"];
  const root = document.documentElement;

  // ---------------------------------------------------------------- theme

  function storedTheme() {
    try {
      const value = localStorage.getItem(THEME_KEY);
      return THEMES.indexOf(value) >= 0 ? value : "auto";
    } catch (error) {
      return "auto";
    }
  }

  function applyTheme(theme) {
    if (theme === "auto") delete root.dataset.theme;
    else root.dataset.theme = theme;
    const button = document.getElementById("theme-toggle");
    if (button) {
      button.dataset.current = theme;
      button.querySelector(".theme-label").textContent = theme[0].toUpperCase() + theme.slice(1);
      button.title = "Theme: " + theme + " (click for " + nextTheme(theme) + ")";
    }
  }

  function nextTheme(theme) {
    return THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  }

  /** app.js draws its charts with colours read once: redraw them through its own init path. */
  function redrawAppCharts() {
    if (typeof window.echarts === "undefined") return;
    document.querySelectorAll("[_echarts_instance_]").forEach(function (el) {
      if (el.kecLanes || !el.kecChart) return;
      if (el.kecResizer) el.kecResizer.disconnect();
      el.kecChart.dispose();
      el.kecChart = null;
      el.kecResizer = null;
    });
    // app.js (re)initialises charts of the page after a swap; nothing was swapped, so nothing
    // else happens there.
    document.dispatchEvent(new CustomEvent("htmx:after:swap", { detail: {} }));
  }

  function setTheme(theme) {
    try { localStorage.setItem(THEME_KEY, theme); } catch (error) { /* private mode: not kept */ }
    applyTheme(theme);
    document.dispatchEvent(new CustomEvent("kec:theme", { detail: { theme: theme } }));
    redrawAppCharts();
  }

  // ---------------------------------------------------------------- time ranges

  const UNITS = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000 };

  /** `now`, `now-6h`, `now+5m`, RFC 3339 or epoch milliseconds to epoch ms (NaN if unknown). */
  function resolveTime(text, now) {
    if (!text || text === "now") return now;
    const relative = /^now([+-])(\d+)(ms|s|m|h|d|w)$/.exec(text);
    if (relative) {
      const amount = Number(relative[2]) * UNITS[relative[3]];
      return relative[1] === "-" ? now - amount : now + amount;
    }
    if (/^\d+$/.test(text)) return Number(text);
    return Date.parse(text);
  }

  function iso(ms) {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  /** `now-90m` style for a span back from now. */
  function lookback(span) {
    const minutes = Math.max(1, Math.round(span / 60000));
    if (minutes % 1440 === 0) return "now-" + minutes / 1440 + "d";
    if (minutes % 60 === 0) return "now-" + minutes / 60 + "h";
    return "now-" + minutes + "m";
  }

  function currentRange() {
    const params = new URLSearchParams(location.search);
    const now = Date.now();
    const from = resolveTime(params.get("from") || "now-6h", now);
    const to = resolveTime(params.get("to") || "now", now);
    if (isNaN(from) || isNaN(to) || from >= to) return null;
    return { params: params, from: from, to: to, now: now };
  }

  function go(params) {
    params.delete("cursor");
    const query = params.toString();
    location.assign(location.pathname + (query ? "?" + query : ""));
  }

  /** `[` and `]`: the same window, half of it earlier or later (never past now). */
  function shiftWindow(direction) {
    const range = currentRange();
    if (!range) return;
    const span = range.to - range.from;
    const to = range.to + direction * span / 2;
    // Back where it started (give or take the seconds since): the window ends now again.
    if (to >= range.now - Math.max(60000, span / 50)) {
      range.params.set("from", lookback(span));
      range.params.delete("to");
    } else {
      range.params.set("from", iso(to - span));
      range.params.set("to", iso(to));
    }
    go(range.params);
  }

  /** `-`: twice the window around its middle; a window ending now keeps ending now. */
  function zoomOut() {
    const range = currentRange();
    if (!range) return;
    const span = range.to - range.from;
    const to = Math.min(range.now, range.to + span / 2);
    if (to >= range.now - 1000) {
      range.params.set("from", lookback(span * 2));
      range.params.delete("to");
    } else {
      range.params.set("from", iso(to - span * 2));
      range.params.set("to", iso(to));
    }
    go(range.params);
  }

  // ---------------------------------------------------------------- copy link

  /** The page's URL with its time relative to now (`from=now-6h`), or frozen (absolute). */
  function linkFor(kind) {
    const range = currentRange();
    const url = new URL(location.href);
    url.hash = "";
    if (range) {
      if (kind === "frozen") {
        url.searchParams.set("from", iso(range.from));
        url.searchParams.set("to", iso(range.to));
      } else {
        url.searchParams.set("from", lookback(range.to - range.from));
        url.searchParams.delete("to");
      }
    }
    return url.toString();
  }

  function copyLink(kind, button) {
    const link = linkFor(kind);
    const done = function () {
      const status = document.getElementById("copy-link-status");
      if (status) status.textContent = (kind === "frozen" ? "Frozen" : "Relative") + " link copied";
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    const field = document.getElementById("copy-link-url");
    if (field) field.value = link;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(link).then(done, function () { if (field) field.select(); });
    } else if (field) {
      // Plain http on another host: no clipboard API, the link is selected to copy by hand.
      field.select();
      done();
    }
  }

  // ---------------------------------------------------------------- help

  const HELP = [
    ["/", "focus the query or search box"],
    ["Enter", "run the query"],
    ["Esc", "close this help, a menu or an open row; leave a box"],
    ["j  k", "next / previous row"],
    ["o", "expand the row (or open its link)"],
    ["[  ]", "shift the time window earlier / later by half"],
    ["-", "zoom out (twice the window)"],
    ["w", "Warnings only"],
    ["l", "live tail (Events page)"],
    ["g o / d / p / n / q / a / c", "go to Overview, Details, Pod lifecycle, Nodes, saved Queries, Alerts, Clusters"],
    ["t", "switch theme (auto, light, dark)"],
    ["?", "this help"],
  ];

  function helpDialog() {
    let dialog = document.getElementById("keys-help");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "keys-help";
    dialog.className = "keys-help";
    dialog.setAttribute("aria-labelledby", "keys-help-title");
    const rows = HELP.map(function (entry) {
      const keys = entry[0].split(/\s+/).filter(Boolean).map(function (key) {
        return key === "/" && entry[0] !== "/" ? " / " : "<kbd>" + key + "</kbd>";
      }).join(" ");
      return "<tr><th scope='row'>" + keys + "</th><td>" + entry[1] + "</td></tr>";
    }).join("");
    dialog.innerHTML =
      "<h2 id='keys-help-title'>Keyboard shortcuts</h2>" +
      "<table class='keys-table'><caption class='visually-hidden'>Keys and what they do</caption><tbody>" +
      rows + "</tbody></table>" +
      "<form method='dialog'><button class='button' type='submit' autofocus>Close</button></form>";
    document.body.appendChild(dialog);
    return dialog;
  }

  function toggleHelp() {
    const dialog = helpDialog();
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  // ---------------------------------------------------------------- pages

  const PAGES = { o: "/overview", d: "/events", p: "/lifecycle", n: "/nodes", q: "/queries", a: "/alerts", c: "/clusters" };

  /** The link to another page, keeping the cluster and time range. */
  function pageUrl(path) {
    const here = new URLSearchParams(location.search);
    const there = new URLSearchParams();
    const cluster = here.get("c") || here.get("cluster");
    if (cluster) there.set(path === "/events" ? "cluster" : "c", cluster);
    ["from", "to"].forEach(function (key) { if (here.get(key)) there.set(key, here.get(key)); });
    const query = there.toString();
    return path + (query ? "?" + query : "");
  }

  function goToPage(letter) {
    const path = PAGES[letter];
    if (!path) return false;
    const link = document.querySelector(".nav a[href^='" + path + "']");
    if (!link && path === "/alerts") {
      announce("Alerts: not built yet");
      return true;
    }
    location.assign(pageUrl(path));
    return true;
  }

  function announce(text) {
    const status = document.getElementById("copy-link-status");
    if (status) status.textContent = text;
  }

  // ---------------------------------------------------------------- rows outside the Events table

  function keyRows() {
    return Array.from(document.querySelectorAll("tr[data-key-row]"));
  }

  function moveRow(step) {
    const all = keyRows();
    if (!all.length) return;
    const current = document.activeElement && document.activeElement.closest("tr[data-key-row]");
    let index = current ? all.indexOf(current) + step : (step > 0 ? 0 : all.length - 1);
    index = Math.max(0, Math.min(all.length - 1, index));
    all[index].tabIndex = -1;
    all[index].focus();
    all[index].scrollIntoView({ block: "nearest" });
  }

  function openRow(row) {
    const link = row.querySelector("a[href]");
    if (row.dataset.keyRow === "expand" || !link) {
      const open = !row.classList.contains("expanded");
      row.classList.toggle("expanded", open);
      row.setAttribute("aria-expanded", String(open));
    } else {
      link.click();
    }
  }

  // ---------------------------------------------------------------- keys

  let pendingG = 0;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      document.querySelectorAll("details.copy-link[open]").forEach(function (menu) { menu.open = false; });
      if (!typing) {
        document.querySelectorAll("tr[data-key-row].expanded").forEach(function (row) {
          row.classList.remove("expanded");
          row.setAttribute("aria-expanded", "false");
        });
      }
      return;
    }
    if (typing) return;
    if (pendingG) {
      clearTimeout(pendingG);
      pendingG = 0;
      if (goToPage(event.key)) event.preventDefault();
      return;
    }
    const row = target.closest && target.closest("tr[data-key-row]");
    const eventRows = document.querySelector("tr.ev");
    switch (event.key) {
      case "?":
        event.preventDefault();
        toggleHelp();
        break;
      case "g":
        pendingG = setTimeout(function () { pendingG = 0; }, 1500);
        break;
      case "t":
        setTheme(nextTheme(storedTheme()));
        break;
      case "[":
        event.preventDefault();
        shiftWindow(-1);
        break;
      case "]":
        event.preventDefault();
        shiftWindow(1);
        break;
      case "-":
        if (!document.querySelector("[aria-keyshortcuts='-']")) { event.preventDefault(); zoomOut(); }
        break;
      case "/": {
        if (event.defaultPrevented) break;
        const box = document.querySelector("#find-name, form.scope input[name='from']");
        if (box) { event.preventDefault(); box.focus(); box.select(); }
        break;
      }
      case "j":
      case "k":
        // app.js moves over the Events rows (and takes the key even where there are none).
        if (!eventRows) { event.preventDefault(); moveRow(event.key === "j" ? 1 : -1); }
        break;
      case "o":
      case "Enter":
        if (row && target === row) { event.preventDefault(); openRow(row); }
        break;
      case "w":
        if (!document.querySelector(".warning-switch input")) {
          const url = new URL(pageUrl("/events"), location.href);
          url.searchParams.set("type", "Warning");
          location.assign(url.pathname + url.search);
        }
        break;
      case "l":
        if (!document.getElementById("tail")) location.assign(pageUrl("/events") + "#live");
        break;
    }
  });

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("#theme-toggle");
    if (toggle) { setTheme(nextTheme(storedTheme())); return; }
    const copy = event.target.closest("[data-copy-link]");
    if (copy) { copyLink(copy.dataset.copyLink, copy); return; }
    const help = event.target.closest("[data-keys-help]");
    if (help) { toggleHelp(); return; }
    const row = event.target.closest("tr[data-key-row='expand']");
    if (row && !event.target.closest("a, button, input")) openRow(row);
  });

  document.addEventListener("toggle", function (event) {
    if (event.target.matches && event.target.matches("details.copy-link") && event.target.open) {
      const field = document.getElementById("copy-link-url");
      if (field) field.value = linkFor("relative");
    }
  }, true);

  applyTheme(storedTheme());
  // `l` from another page: start the live tail once the Events page is here.
  if (location.hash === "#live") {
    const tail = document.getElementById("tail");
    if (tail && !tail.checked) tail.click();
  }
  window.kecKeys = { resolveTime: resolveTime, linkFor: linkFor, setTheme: setTheme, help: toggleHelp };
})();
