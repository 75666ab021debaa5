(function () {
  "use strict";
  var prefix = document.body.getAttribute("data-prefix");
  var KEY = "maintguard-token";
  var token = "";
  try { token = sessionStorage.getItem(KEY) || ""; } catch (e) { token = ""; }
  var status = null;
  var counts = null;
  var lastId = null;
  var streamRun = 0;
  var controller = null;
  var pollTimer = null;
  var retry = null;

  function $(id) { return document.getElementById(id); }
  function show(id, value) {
    $(id).textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  }
  function seconds(total) {
    total = Math.max(0, Math.round(total));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }
  function when(value) {
    // "2026-12-01 23:39:33 UTC": whole seconds, the zone said.
    if (!value) { return null; }
    var date = new Date(value);
    return isNaN(date.getTime()) ? value : date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }
  function iso(local) { return local ? new Date(local).toISOString() : null; }

  async function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (token) { headers["Authorization"] = "Bearer " + token; }
    // Cookies are never sent: a change is authorised by the bearer token alone.
    var init = { method: method, headers: headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    try {
      var response = await fetch(prefix + path, init);
      var data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      return { status: response.status, data: data };
    } catch (e) {
      return { status: 0, data: { error: "the server could not be reached" } };
    }
  }

  // ---------------------------------------------------------------- rendering

  function renderStatus(s) {
    status = s;
    var active = !!s.is_active;
    var badge = $("state-badge");
    var names = { emergency: "EMERGENCY", test: "TEST MODE", normal: "MAINTENANCE" };
    badge.textContent = active ? (names[s.mode] || s.mode) : "NORMAL OPERATION";
    badge.className = "badge " + (active ? "on-" + s.mode : "off");
    show("st-active", active ? "active" : "off");
    show("st-mode", s.mode);
    show("st-message", s.message);
    show("st-reason", s.reason);
    show("st-by", s.enabled_by);
    show("st-started", when(s.started_at));
    show("st-ends", when(s.ends_at));
    var up = s.upcoming;
    show("st-upcoming", up ? up.reason + " (" + up.mode + ") from " + when(up.starts_at) +
      (up.ends_at ? " to " + when(up.ends_at) : "") : null);
    show("st-version", s.version);
    if (!counts || !counts.store) {
      show("st-store", s.store + (s.override ? " (" + s.override + ")" : ""));
    }
    renderProgress();
    renderOperations();
    tick();
    if (token) { loadAudit(); }
  }

  function renderProgress() {
    if (!status) { return; }
    var p = status.progress || {};
    var parts = [];
    if (p.sessions) {
      parts.push("sessions: " + p.sessions + " (" + (p.sessions_invalidated || 0) + " ended, " +
        (p.sessions_kept_admin || 0) + " admins kept)");
    }
    if (p.jobs) { parts.push("jobs: " + p.jobs + " (" + (p.jobs_stopped || 0) + " stopped)"); }
    if (status.active_jobs_count !== undefined) {
      parts.push(status.active_jobs_count + " jobs running");
    }
    show("progress", parts.join("; "));
  }

  function renderOperations() {
    var body = $("ops");
    body.textContent = "";
    var ops = (status && status.blocked_operations) || [];
    var blocked = (counts && counts.blocked) || {};
    if (!ops.length) {
      var empty = document.createElement("tr");
      var cell = document.createElement("td");
      cell.colSpan = 2;
      cell.textContent = "none";
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    ops.forEach(function (op) {
      var row = document.createElement("tr");
      var name = document.createElement("td");
      name.textContent = op;
      var count = document.createElement("td");
      count.textContent = String(blocked[op] || 0);
      count.setAttribute("data-operation", op);
      row.appendChild(name);
      row.appendChild(count);
      body.appendChild(row);
    });
  }

  function spark(id, values) {
    var max = Math.max.apply(null, values.concat([1]));
    var step = 120 / Math.max(1, values.length - 1);
    var points = values.map(function (v, i) {
      return (i * step).toFixed(1) + "," + (30 - (v / max) * 28).toFixed(1);
    });
    $(id).setAttribute("points", points.join(" "));
  }

  function renderCounts(c) {
    counts = c;
    show("total-blocked", c.total || 0);
    if (c.history) {
      var blocked = c.history.blocked;
      show("rate", blocked[blocked.length - 1] || 0);
      spark("spark-line", blocked);
      spark("report-spark-line", c.history.simulated);
    }
    if (c.store) {
      var age = c.store.last_refresh ? (Date.now() - Date.parse(c.store.last_refresh)) / 1000 : null;
      show("st-store", c.store.backend + ": " + (c.store.healthy ? "healthy" : "DEGRADED") +
        (age === null ? "" : ", refreshed " + seconds(age) + " ago"));
    }
    renderOperations();
  }

  function tick() {
    if (!status || !status.is_active || !status.started_at) { show("st-elapsed", null); return; }
    var elapsed = (Date.now() - Date.parse(status.started_at)) / 1000;
    var estimate = status.estimated_duration;
    show("st-elapsed", seconds(elapsed) + " / " + (estimate ? seconds(estimate) : "no estimate"));
  }

  async function loadAudit() {
    var result = await api("GET", "/audit?limit=20");
    var list = $("audit");
    if (result.status !== 200 || !result.data) { return; }
    list.textContent = "";
    result.data.records.forEach(function (r) {
      var item = document.createElement("li");
      item.textContent = when(r.at) + " — " + r.actor + " — " + r.action +
        (r.mode ? " (" + r.mode + ")" : "") + (r.reason ? ": " + r.reason : "") + " [v" + r.version + "]";
      list.appendChild(item);
    });
  }

  async function loadReport() {
    var result = await api("GET", "/report");
    showAnswer("report", result);
    var body = $("report");
    if (result.status !== 200 || !result.data) { return; }
    body.textContent = "";
    if (result.data.per_minute) { spark("report-spark-line", result.data.per_minute.simulated); }
    var ops = result.data.operations;
    if (!ops.length) {
      var row = document.createElement("tr");
      var cell = document.createElement("td");
      cell.colSpan = 3;
      cell.textContent = "nothing would have been blocked";
      row.appendChild(cell);
      body.appendChild(row);
    }
    ops.forEach(function (op) {
      var row = document.createElement("tr");
      [op.operation_type, String(op.would_block_count), op.sample_paths.join(" ")].forEach(function (t) {
        var cell = document.createElement("td");
        cell.textContent = t;
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  }

  // ---------------------------------------------------------------- answers

  var pendingForce = null;
  function showAnswer(action, result, again) {
    var ok = result.status >= 200 && result.status < 300;
    var line = action + ": " + (result.status || "no answer") + (ok ? " OK" : "");
    if (!ok && result.data && result.data.error) {
      line += " — " + result.data.error + (result.data.field ? " (" + result.data.field + ")" : "");
    }
    var el = $("answer");
    el.textContent = line;
    el.className = ok ? "ok" : "bad";
    var force = $("force");
    pendingForce = result.status === 409 && result.data && result.data.field === "force" ? again : null;
    force.hidden = !pendingForce;
    if (ok && result.data && result.data.is_active !== undefined) { renderStatus(result.data); }
  }

  async function change(action, method, path, body) {
    var result = await api(method, path, body);
    showAnswer(action, result, function () {
      var forced = Object.assign({}, body || {}, { force: true });
      return change(action, method, path, forced);
    });
    return result;
  }

  // ---------------------------------------------------------------- live updates

  function setLive(text) { $("live").textContent = text; }

  function handleBlock(block) {
    var kind = "message", data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) { kind = line.slice(6).trim(); }
      else if (line.indexOf("data:") === 0) { data += line.slice(5).trim(); }
      else if (line.indexOf("id:") === 0) { lastId = line.slice(3).trim(); }
    });
    if (!data) { return; }
    var value;
    try { value = JSON.parse(data); } catch (e) { return; }
    if (kind === "status") { renderStatus(value); }
    else if (kind === "progress" && status) { Object.assign(status, value); renderProgress(); }
    else if (kind === "counts") { renderCounts(value); }
  }

  function startPolling() {
    if (pollTimer) { return; }
    var poll = async function () {
      var result = await api("GET", "/status");
      if (result.status === 200) { renderStatus(result.data); }
    };
    poll();
    pollTimer = setInterval(poll, 5000);
  }
  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  async function stream() {
    var run = ++streamRun;
    if (retry) { clearTimeout(retry); retry = null; }
    if (controller) { controller.abort(); }
    var mine = new AbortController();
    controller = mine;
    var headers = { "Accept": "text/event-stream" };
    if (token) { headers["Authorization"] = "Bearer " + token; }
    if (lastId) { headers["Last-Event-ID"] = lastId; }
    try {
      var response = await fetch(prefix + "/events", {
        headers: headers, signal: mine.signal, credentials: "omit", cache: "no-store"
      });
      if (response.status === 401) {
        $("token-state").textContent = "The server refused this token.";
        token = "";
        try { sessionStorage.removeItem(KEY); } catch (e) { /* private mode */ }
        retry = setTimeout(stream, 100);
        return;
      }
      if (!response.ok || !response.body) { throw new Error("no stream"); }
      stopPolling();
      setLive("live");
      var reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) { break; }
        buffer += chunk.value;
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      // The server ends each stream after a while: resume where it stopped.
      if (run === streamRun) { retry = setTimeout(stream, 250); }
    } catch (e) {
      if (run !== streamRun) { return; }
      setLive("polling");
      startPolling();
      retry = setTimeout(stream, 5000);
    }
  }

  // ---------------------------------------------------------------- controls

  function tokenChanged() {
    $("token-state").textContent = token
      ? "Token set for this tab: full status, controls enabled."
      : "No token: public fields only, controls answer 401.";
    if (!token) { $("audit").textContent = ""; }
    lastId = null;
    stream();
  }

  $("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = $("token");
    token = field.value.trim();
    field.value = "";
    try { if (token) { sessionStorage.setItem(KEY, token); } } catch (e) { /* private mode */ }
    tokenChanged();
  });
  $("forget").addEventListener("click", function () {
    token = "";
    try { sessionStorage.removeItem(KEY); } catch (e) { /* private mode */ }
    tokenChanged();
  });

  $("enable-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { reason: $("en-reason").value, mode: $("en-mode").value };
    var message = $("en-message").value;
    if (message) { body.message = message; }
    var duration = $("en-duration").value.trim();
    if (duration) { body.duration = Number(duration); }
    var ends = $("en-ends").value;
    if (ends) { body.ends_at = iso(ends); }
    var ops = $("en-ops").value.split(",").map(function (s) { return s.trim().toUpperCase(); })
      .filter(function (s) { return s; });
    if (ops.length) { body.operations = ops; }
    change("enable", "POST", "/enable", body);
  });

  $("disable").addEventListener("click", function () { change("disable", "POST", "/disable", {}); });

  var dialog = $("emergency-dialog");
  $("emergency").addEventListener("click", function () {
    var jobs = status && status.active_jobs_count ? status.active_jobs_count : 0;
    $("em-consequences").textContent = "Everything except admins is blocked at once, reads included. " +
      "Non-admin sessions are ended and running background jobs are stopped (" + jobs +
      " running now). This does not end by itself.";
    dialog.showModal();
    $("em-reason").focus();
  });
  $("em-cancel").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("close", function () { $("emergency").focus(); });
  $("emergency-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var reason = $("em-reason").value;
    dialog.close();
    change("emergency", "POST", "/emergency", { reason: reason });
  });

  $("schedule-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { reason: $("sc-reason").value, starts_at: iso($("sc-starts").value) };
    var ends = $("sc-ends").value;
    if (ends) { body.ends_at = iso(ends); }
    var message = $("sc-message").value;
    if (message) { body.message = message; }
    change("schedule", "POST", "/schedule", body);
  });
  $("cancel-schedule").addEventListener("click", function () {
    change("cancel schedule", "DELETE", "/schedule", {});
  });
  $("force").addEventListener("click", function () { if (pendingForce) { pendingForce(); } });
  $("report-button").addEventListener("click", loadReport);

  setInterval(tick, 1000);
  tokenChanged();
})();
