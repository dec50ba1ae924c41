// Drawbridge dashboard: the theme toggle (kept in localStorage) and the
// overview chart. Loaded as a file, never inline: the Content-Security-
// Policy allows scripts from this server only.
(function () {
  "use strict";
  var KEY = "drawbridge-theme";
  var root = document.documentElement;

  function stored() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function current() {
    var t = stored();
    if (t === "dark" || t === "light") return t;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function apply(t) {
    root.setAttribute("data-theme", t);
    var b = document.getElementById("theme-toggle");
    if (b) {
      b.setAttribute("aria-pressed", t === "dark" ? "true" : "false");
      b.textContent = t === "dark" ? "Light theme" : "Dark theme";
    }
  }
  apply(current());

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("#theme-toggle");
    if (!b) return;
    var next = current() === "dark" ? "light" : "dark";
    try { localStorage.setItem(KEY, next); } catch (e) { /* private mode: this page only */ }
    apply(next);
    drawCharts();
  });

  var colors = { granted: "#2e7d32", pending: "#b26a00", denied: "#c62828", cancelled: "#6d6d6d", failed: "#8e24aa" };

  function drawCharts() {
    var el = document.getElementById("chart");
    if (!el || typeof uPlot === "undefined") return;
    var data = JSON.parse(el.getAttribute("data-chart"));
    var names = el.getAttribute("data-series").split(",");
    var fg = getComputedStyle(root).getPropertyValue("--fg").trim() || "#222";
    var series = [{}];
    names.forEach(function (n) {
      series.push({ label: n, stroke: colors[n] || fg, width: 2, points: { show: true } });
    });
    el.textContent = "";
    var width = Math.max(280, el.clientWidth || 600);
    var axis = { stroke: fg, grid: { stroke: "rgba(128,128,128,0.25)" }, ticks: { stroke: "rgba(128,128,128,0.25)" } };
    new uPlot({
      width: width, height: 260, series: series,
      axes: [Object.assign({}, axis), Object.assign({}, axis, { label: "requests" })],
      scales: { x: { time: true } }
    }, data, el);
  }

  function ready() {
    apply(current());
    drawCharts();
  }
  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:afterSettle", ready);
})();
