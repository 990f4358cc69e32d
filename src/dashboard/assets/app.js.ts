/**
 * The dashboard's one script, kept as a TS module so `tsc` puts it in dist. Progressive enhancement only:
 * every page and action works without it. It applies the theme choice, asks before destructive actions, and
 * keeps the pages live: it fetches the current page again every few seconds and swaps the regions marked
 * `data-live` (server-rendered, escaped markup: one rendering path for the first paint and the updates).
 */
export const APP_JS = `(function () {
  "use strict";
  var THEME_KEY = "conveyor-theme";
  var LIVE_KEY = "conveyor-live";
  var root = document.documentElement;

  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY) || "auto"; } catch (e) { return "auto"; }
  }
  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
    else root.removeAttribute("data-theme");
  }
  // Before the first paint: no flash of the wrong theme.
  applyTheme(storedTheme());

  function themeLabel(theme) {
    return theme === "dark" ? "Dark" : theme === "light" ? "Light" : "Auto";
  }

  function localiseTimes(scope) {
    var times = scope.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(d.getTime())) times[i].title = d.toLocaleString();
    }
  }

  function setupTheme() {
    var button = document.querySelector("[data-theme-toggle]");
    if (!button) return;
    var label = button.querySelector("[data-theme-label]");
    if (label) label.textContent = themeLabel(storedTheme());
    button.addEventListener("click", function () {
      var order = ["auto", "dark", "light"];
      var next = order[(order.indexOf(storedTheme()) + 1) % order.length];
      try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* private mode: this page only */ }
      applyTheme(next);
      if (label) label.textContent = themeLabel(next);
    });
  }

  function setupConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    }, true);
  }

  function dropNotice() {
    // The notice of a finished action is shown once; a reload or a live update should not repeat it.
    var url = new URL(location.href);
    if (!url.searchParams.has("done") && !url.searchParams.has("failed")) return;
    url.searchParams.delete("done");
    url.searchParams.delete("failed");
    url.searchParams.delete("n");
    url.searchParams.delete("target");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  // A stack trace someone opened (or closed) stays so when its region is refreshed.
  function keepOpen(from, to) {
    var before = from.querySelectorAll("details");
    var after = to.querySelectorAll("details");
    if (before.length !== after.length) return;
    for (var i = 0; i < before.length; i++) after[i].open = before[i].open;
  }

  function setupLive() {
    var regions = document.querySelectorAll("[data-live]");
    var toggle = document.querySelector("[data-live-toggle]");
    var status = document.querySelector("[data-live-status]");
    if (regions.length === 0) {
      if (toggle) toggle.hidden = true;
      return;
    }
    var meta = document.querySelector('meta[name="conveyor-refresh"]');
    var every = Math.max(500, Number(meta && meta.getAttribute("content")) || 2000);
    var enabled = true;
    try { enabled = sessionStorage.getItem(LIVE_KEY) !== "off"; } catch (e) { /* default on */ }
    var timer = null;
    var inFlight = false;

    function show(state, text) {
      if (toggle) toggle.setAttribute("data-live-state", state);
      if (status) status.textContent = text;
    }
    function schedule() {
      clearTimeout(timer);
      if (document.querySelectorAll("[data-live]").length === 0) {
        // Nothing left to follow (e.g. the job reached a final state).
        if (toggle) toggle.hidden = true;
        return;
      }
      if (enabled && !document.hidden) timer = setTimeout(refresh, every);
    }
    function refresh() {
      if (inFlight) return;
      inFlight = true;
      var problem = "";
      fetch(location.href, { credentials: "same-origin", headers: { "x-conveyor-live": "1" }, cache: "no-store" })
        .then(function (res) {
          if (res.redirected || res.status === 401) { problem = "Signed out"; throw new Error(problem); }
          if (res.status === 404) { problem = "Gone"; throw new Error(problem); }
          if (!res.ok) { problem = "Error " + res.status; throw new Error(problem); }
          return res.text();
        })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          // Each live region of this page takes its new version (found by id). A region that is no longer
          // live there (a job that reached a final state) is swapped one last time and then left alone.
          var current = document.querySelectorAll("[data-live]");
          for (var i = 0; i < current.length; i++) {
            var fresh = current[i].id && doc.getElementById(current[i].id);
            if (!fresh) continue;
            if (current[i].innerHTML === fresh.innerHTML && fresh.hasAttribute("data-live")) continue;
            // Leave a region alone while someone is using one of its controls (a focused field or button).
            var active = document.activeElement;
            if (active && active !== document.body && current[i].contains(active) && active.matches("input, select, textarea, button")) continue;
            var node = document.importNode(fresh, true);
            keepOpen(current[i], node);
            current[i].replaceWith(node);
            localiseTimes(node);
          }
          if (doc.title) document.title = doc.title;
          show("on", "Live");
        })
        .catch(function () {
          show("error", problem || "Offline");
        })
        .then(function () {
          inFlight = false;
          schedule();
        });
    }
    if (toggle) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        enabled = !enabled;
        try { sessionStorage.setItem(LIVE_KEY, enabled ? "on" : "off"); } catch (e) { /* ignore */ }
        show(enabled ? "on" : "off", enabled ? "Live" : "Paused");
        if (enabled) refresh(); else clearTimeout(timer);
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && enabled) refresh();
    });
    show(enabled ? "on" : "off", enabled ? "Live" : "Paused");
    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupTheme();
    setupConfirm();
    dropNotice();
    localiseTimes(document);
    setupLive();
  });
})();
`;
