// Sentio console: the admin token field and live refresh. No framework, no other script.
(function () {
  "use strict";
  var KEY = "sentio-admin-token";

  // The admin token is kept for this tab only (sessionStorage) and filled into every
  // action form; it is sent only with the form the user submits.
  function wireForms() {
    var saved = sessionStorage.getItem(KEY) || "";
    document.querySelectorAll("form.action input.token").forEach(function (input) {
      if (!input.value && saved) input.value = saved;
    });
    document.querySelectorAll("form.action").forEach(function (form) {
      form.addEventListener("submit", function () {
        var t = form.querySelector("input.token");
        if (t && t.value) sessionStorage.setItem(KEY, t.value);
      });
    });
  }

  // Elements with data-refresh="<url>" are replaced by that URL's HTML every
  // data-every milliseconds while the page is visible.
  function refresh(el) {
    var every = parseInt(el.getAttribute("data-every"), 10) || 3000;
    var busy = false;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(el.getAttribute("data-refresh"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) {
            el.innerHTML = html;
            el.setAttribute("data-refreshed", String(Date.now()));
          }
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { busy = false; });
    }
    tick();
    setInterval(tick, every);
  }

  // Cells with data-live-rate="<endpoint>" show its current requests per second.
  function rates() {
    var cells = document.querySelectorAll("[data-live-rate]");
    if (!cells.length) return;
    function tick() {
      if (document.hidden) return;
      cells.forEach(function (cell) {
        var name = cell.getAttribute("data-live-rate");
        fetch("/api/endpoints/" + encodeURIComponent(name) + "/live", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (v) {
            if (v && v.series && v.series.total_requests_per_s !== null && v.series.total_requests_per_s !== undefined) {
              cell.textContent = v.series.total_requests_per_s.toFixed(1);
            }
          })
          .catch(function () {});
      });
    }
    tick();
    setInterval(tick, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireForms();
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    rates();
  });
})();
