/* maintguard banner: include with
 *   <script src="/api/maintenance/banner.js" defer></script>
 * It shows upcoming and active maintenance to users of a page left open,
 * and "services resumed" when it ends. It polls the public status
 * (GET {prefix}/status, every data-interval seconds, 30 by default), or
 * follows the events stream with data-live="events" (each open page then
 * holds a connection: fine on ASGI, costly for sync WSGI workers). It
 * fires a "maintguard:status" event on window with the status document,
 * so a page can render its own banner (data-render="none" turns the
 * built-in one off).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var prefix = script.src.replace(/\/banner\.js(\?.*)?$/, "");
  var render = script.getAttribute("data-render") !== "none";
  var live = script.getAttribute("data-live") === "events";
  var interval = Math.max(5, Number(script.getAttribute("data-interval")) || 30) * 1000;
  var box = null;
  var last = null;
  var timer = null;

  function element() {
    if (box) { return box; }
    box = document.createElement("div");
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    box.id = "maintguard-banner";
    var s = box.style;
    s.position = "fixed"; s.left = "0"; s.right = "0"; s.top = "0"; s.zIndex = "2147483647";
    s.padding = "0.5rem 1rem"; s.font = "15px/1.4 system-ui, sans-serif"; s.textAlign = "center";
    s.color = "#fff"; s.display = "none";
    document.body.appendChild(box);
    return box;
  }

  function minutesUntil(when) {
    return Math.max(0, Math.round((Date.parse(when) - Date.now()) / 60000));
  }

  function text(status) {
    if (status.is_active) {
      var until = status.estimated_completion ? " Expected back in about " +
        minutesUntil(status.estimated_completion) + " minutes." : "";
      return { text: (status.message || "Maintenance in progress.") + until, color: "#b45309" };
    }
    if (status.upcoming && status.upcoming.starts_at) {
      var m = minutesUntil(status.upcoming.starts_at);
      return {
        text: "Maintenance starts in " + m + (m === 1 ? " minute" : " minutes") +
          (status.upcoming.message ? ": " + status.upcoming.message : "."),
        color: "#1d4ed8"
      };
    }
    if (last && last.is_active) { return { text: "Services resumed.", color: "#15803d" }; }
    return null;
  }

  function update(status) {
    var shown = text(status);
    last = status;
    window.dispatchEvent(new CustomEvent("maintguard:status", { detail: status }));
    if (!render) { return; }
    var el = element();
    if (!shown) { el.style.display = "none"; return; }
    el.textContent = shown.text;
    el.style.background = shown.color;
    el.style.display = "block";
  }

  function poll() {
    fetch(prefix + "/status", { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) { update(s); } })
      .catch(function () { /* offline: try again later */ });
  }

  function polling() {
    if (timer) { return; }
    poll();
    timer = setInterval(poll, interval);
  }

  function start() {
    if (live && window.EventSource) {
      var source = new EventSource(prefix + "/events");
      source.addEventListener("status", function (e) {
        try { update(JSON.parse(e.data)); } catch (err) { /* not ours */ }
      });
      // Refused (too many streams) or gone: poll instead.
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED) { polling(); }
      };
    } else {
      polling();
    }
    // Keep "starts in N minutes" current between events.
    setInterval(function () { if (last) { update(last); } }, 30000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
