// Host control panel: live metrics, the question queue, the comment stream and the pin selector, all
// kept current over the session's socket. Actions are POSTed to the panel's action URL; what changed
// comes back as a snapshot over the socket (to this panel and every other staff screen).
(function () {
  "use strict";
  var panel = document.getElementById("live-panel");
  if (!panel || !window.WebSocket) return;
  var gb = window.groupbuy;
  var actionUrl = panel.getAttribute("data-action-url");
  var strings = document.getElementById("live-strings").dataset;
  var errorLine = document.getElementById("live-panel-error");
  var queue = document.getElementById("live-queue");
  var stream = document.getElementById("live-stream");

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = !message;
  }

  function post(data) {
    var body = new FormData();
    Object.keys(data).forEach(function (k) { body.append(k, data[k]); });
    return fetch(actionUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": gb.csrfToken(), Accept: "application/json" },
    }).then(function (r) { return r.json(); }).then(function (result) {
      showError(result.error || "");
      return result;
    }).catch(function () { showError("…"); });
  }

  function button(label, data, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", function () {
      if (data.action === "mute" && !window.confirm(strings.confirmMute)) return;
      b.disabled = true;
      post(data).then(function () { b.disabled = false; });
    });
    return b;
  }

  function meta(c, extra) {
    var span = document.createElement("span");
    span.className = extra;
    span.textContent = c.at + " · " + c.user;
    return span;
  }

  function renderQueue(q) {
    document.getElementById("live-queue-open").textContent = q.open;
    document.getElementById("live-queue-answered").textContent = q.answered;
    document.getElementById("live-queue-empty").hidden = q.questions.length > 0;
    queue.textContent = "";
    q.questions.forEach(function (c) {
      var li = document.createElement("li");
      li.setAttribute("data-id", c.id);
      if (c.picked) li.className = "is-picked";
      li.appendChild(meta(c, "q-meta"));
      if (c.duplicates) {
        var dup = document.createElement("span");
        dup.className = "q-dup";
        dup.textContent = " · +" + c.duplicates + " " + strings.dup;
        li.appendChild(dup);
      }
      var text = document.createElement("span");
      text.className = "q-text";
      text.textContent = c.text;
      li.appendChild(text);
      var actions = document.createElement("div");
      actions.className = "live-actions";
      actions.appendChild(button(c.picked ? strings.unpick : strings.pick, { action: "pick", comment_id: c.id }, c.picked ? "" : "is-primary"));
      actions.appendChild(button(strings.answer, { action: "answer", comment_id: c.id }));
      var others = q.questions.filter(function (o) { return o.id !== c.id; });
      if (others.length) {
        var select = document.createElement("select");
        select.setAttribute("aria-label", strings.merge);
        var first = document.createElement("option");
        first.value = "";
        first.textContent = strings.merge;
        select.appendChild(first);
        others.forEach(function (o) {
          var opt = document.createElement("option");
          opt.value = o.id;
          opt.textContent = o.text.slice(0, 24);
          select.appendChild(opt);
        });
        select.addEventListener("change", function () {
          if (select.value) post({ action: "merge", comment_id: c.id, into_id: select.value });
        });
        actions.appendChild(select);
      }
      actions.appendChild(button(strings.hide, { action: "hide", comment_id: c.id }, "is-danger"));
      li.appendChild(actions);
      queue.appendChild(li);
    });
  }

  function streamItem(c) {
    var li = document.createElement("li");
    li.setAttribute("data-id", c.id);
    li.appendChild(meta(c, "c-meta"));
    var text = document.createElement("span");
    text.className = "c-text";
    text.textContent = c.text;
    li.appendChild(text);
    if (!c.is_staff) {
      var actions = document.createElement("div");
      actions.className = "live-actions";
      actions.appendChild(button(strings.hide, { action: "hide", comment_id: c.id }, "is-danger"));
      actions.appendChild(button(strings.mute, { action: "mute", user_id: c.user_id }, "is-danger"));
      li.appendChild(actions);
    }
    return li;
  }

  function addComment(c) {
    if (stream.querySelector('li[data-id="' + c.id + '"]')) return;
    var stick = stream.scrollHeight - stream.scrollTop - stream.clientHeight < 40;
    stream.appendChild(streamItem(c));
    while (stream.children.length > 200) stream.removeChild(stream.firstChild);
    document.getElementById("live-stream-empty").hidden = true;
    if (stick) stream.scrollTop = stream.scrollHeight;
  }

  function setMetric(name, value) {
    var el = panel.querySelector('[data-metric="' + name + '"]');
    if (el) el.textContent = value;
  }

  function renderMetrics(m) {
    if (!m) return;
    setMetric("online", m.online);
    setMetric("peak", m.peak);
    setMetric("comments_per_minute", m.comments_per_minute);
    setMetric("reserved_vs", m.reserved_viewers + "/" + m.reservations);
    setMetric("viewers", m.viewers);
    setMetric("joins", m.joins === null ? "–" : m.joins);
    setMetric("gmv", m.gmv_fen === null ? "–" : gb.fen(m.gmv_fen));
    document.getElementById("live-reminder").hidden = !m.remind_jielong;
  }

  function renderRoom(r) {
    if (!r) return;
    var list = document.getElementById("live-pin-list");
    if (list) {
      Array.prototype.forEach.call(list.children, function (li) {
        li.classList.toggle("is-pinned", !!r.pinned && String(r.pinned.sku_id) === li.getAttribute("data-sku"));
      });
    }
    var unpin = document.getElementById("live-unpin");
    if (unpin) unpin.hidden = !r.pinned;
    if (r.status !== panel.getAttribute("data-status")) window.location.reload();
  }

  function onMessage(m) {
    if (m.type === "signed_out" || m.type === "membership_revoked" || m.type === "access_changed") {
      // The server closes this socket for good (signed out everywhere, switched off, or a new role): the
      // panel reloads, to the sign-in or to what the new role may open.
      window.location.reload();
      return;
    }
    if (m.type === "queue") renderQueue(m.queue);
    else if (m.type === "metrics") renderMetrics(m.metrics);
    else if (m.type === "room") renderRoom(m.room);
    else if (m.type === "comments") { stream.textContent = ""; m.comments.forEach(addComment); }
    else if (m.type === "new_comments") m.comments.forEach(addComment);
    else if (m.type === "comment_removed") {
      var li = stream.querySelector('li[data-id="' + m.comment_id + '"]');
      if (li) li.remove();
    }
  }

  // Forms marked js-live-action (pin, unpin, publish the jielong) post without leaving the page.
  document.querySelectorAll("form.js-live-action").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = {};
      new FormData(form).forEach(function (v, k) { if (k !== "csrfmiddlewaretoken") data[k] = v; });
      post(data).then(function (result) {
        if (result && result.ok && data.action === "publish_jielong") window.location.reload();
      });
    });
  });
  document.querySelectorAll(".js-publish-jielong").forEach(function (b) {
    b.addEventListener("click", function () {
      post({ action: "publish_jielong" }).then(function (result) { if (result && result.ok) window.location.reload(); });
    });
  });
  // The last ten minutes: the panel's own clock raises the reminder even when no snapshot arrives.
  var remindAt = parseInt(panel.getAttribute("data-remind-at"), 10);
  if (remindAt) {
    var tick = function () {
      if (Date.now() >= remindAt) document.getElementById("live-reminder").hidden = false;
    };
    tick();
    window.setInterval(tick, 15000);
  }
  // On a reconnect the server's snapshots (queue, metrics, room, comments) replace what the panel shows.
  gb.socket(panel.getAttribute("data-ws"), {
    onMessage: onMessage,
    onState: function (name) {
      panel.setAttribute("data-live", name);
      // Connected: real time works again. Reconnecting (refused, dropped, Redis away): say so.
      var unavailable = document.getElementById("live-unavailable");
      if (unavailable) unavailable.hidden = name === "connected";
    },
  });
})();
