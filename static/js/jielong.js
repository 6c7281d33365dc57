/* Member jielong page: live progress over a WebSocket, copy buttons, one submit per tap.
 *
 * The server pushes whole, versioned snapshots ({"type": "snapshot", "snapshot": {...}}); a snapshot
 * older than what the page shows is ignored. The connection is kept by socket.js (backoff with
 * jitter, JSON guard); the consumer's first message after a reconnect re-syncs the page.
 * Written in plain ES5 so older in-app browsers (WeChat) run it too.
 */
(function () {
  "use strict";

  var root = document.getElementById("jielong");
  if (!root) return;

  var shownVersion = parseInt(root.getAttribute("data-version"), 10) || 0;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  // "已接龙 X 人，还差 Y 人成团": people, never what is left of an order cap.
  function progressLine(s) {
    if (s.still_needed > 0) {
      return fill(root.getAttribute("data-tpl-needed"), { joined: s.joined, needed: s.still_needed });
    }
    return fill(root.getAttribute("data-tpl-formed"), { joined: s.joined });
  }

  function statusWord(status) {
    if (status === "open" || status === "draft") return root.getAttribute("data-tpl-status-open");
    if (status === "formed") return root.getAttribute("data-tpl-status-formed");
    return root.getAttribute("data-tpl-status-ended");
  }

  function rowText(row) {
    return row.seq + ". " + (row.name || root.getAttribute("data-anonymous")) + " " + row.items;
  }

  // Entries cancelled since the page loaded leave the list; edited ones show their new items.
  function reconcileJoiners(latest, cancelled) {
    var list = document.getElementById("jl-joiners");
    if (!list) return;
    (cancelled || []).forEach(function (seq) {
      var gone = list.querySelector('li[data-seq="' + seq + '"]');
      if (gone) gone.parentNode.removeChild(gone);
    });
    (latest || []).forEach(function (row) {
      var shown = list.querySelector('li[data-seq="' + row.seq + '"]');
      if (shown && shown.textContent !== rowText(row)) shown.textContent = rowText(row);
    });
  }

  function prependJoiners(latest) {
    var list = document.getElementById("jl-joiners");
    if (!list || !latest || !latest.length) return;
    var top = 0;
    var first = list.querySelector("li[data-seq]");
    if (first) top = parseInt(first.getAttribute("data-seq"), 10) || 0;
    // "latest" is newest first; insert the unseen ones oldest first, each at the top.
    for (var i = latest.length - 1; i >= 0; i--) {
      var row = latest[i];
      if (row.seq <= top || list.querySelector('li[data-seq="' + row.seq + '"]')) continue;
      var li = document.createElement("li");
      li.setAttribute("data-seq", row.seq);
      li.className = "is-new";
      li.textContent = rowText(row);
      list.insertBefore(li, list.firstChild);
      top = row.seq;
    }
    var empty = document.getElementById("jl-joiners-empty");
    if (empty && list.querySelector("li[data-seq]")) empty.parentNode.removeChild(empty);
    // The page keeps the latest entries only (the whole jielong has a page of its own).
    var limit = parseInt(list.getAttribute("data-limit"), 10) || 0;
    if (limit) {
      var rows = list.querySelectorAll("li[data-seq]");
      for (var j = limit; j < rows.length; j++) rows[j].parentNode.removeChild(rows[j]);
      var all = document.getElementById("jl-all-joiners");
      if (all && rows.length > limit) all.hidden = false;
    }
  }

  function apply(s) {
    if (typeof s.version !== "number" || s.version < shownVersion) return;
    shownVersion = s.version;
    root.setAttribute("data-version", String(s.version));

    setText("jl-progress-line", progressLine(s));
    var badge = document.getElementById("jl-status");
    if (badge && s.status && !root.hasAttribute("data-preview")) {
      setText("jl-status", statusWord(s.status));
      badge.className = "badge status-" + s.status;
    }
    var bar = document.getElementById("jl-bar");
    if (bar) {
      var percent = s.threshold > 0 ? Math.min(100, Math.round((100 * s.joined) / s.threshold)) : 100;
      bar.style.width = percent + "%";
    }
    if (s.perk_limit > 0) {
      setText(
        "jl-perk-left",
        s.perk_left > 0
          ? fill(root.getAttribute("data-tpl-perk"), { limit: s.perk_limit, left: s.perk_left })
          : root.getAttribute("data-tpl-perk-gone")
      );
    }
    setText("jl-count", "(" + s.joined + ")");
    var perkPrices = root.querySelectorAll("[data-perk-price]");
    for (var p = 0; p < perkPrices.length; p++) perkPrices[p].hidden = !(s.perk_left > 0);

    var line = progressLine(s);
    var share = document.getElementById("jl-share-text");
    var previous = root.getAttribute("data-line");
    if (share && previous && previous !== line) share.value = share.value.replace(previous, line);
    root.setAttribute("data-line", line);
    setText("jl-leader-line", line);

    reconcileJoiners(s.latest, s.cancelled);
    prependJoiners(s.latest);

    if (s.status === "completed" || s.status === "failed" || s.status === "cancelled") {
      var form = document.getElementById("jl-form");
      if (form) {
        var buttons = form.querySelectorAll("button, input, select, textarea");
        for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
      }
      setText("jl-live", root.getAttribute("data-tpl-closed"));
    }
  }

  function connect() {
    window.groupbuy.socket(root.getAttribute("data-ws-path"), {
      onMessage: function (message) {
        if (message.type === "snapshot" && message.snapshot) apply(message.snapshot);
      },
      onState: function (name) {
        // "closed": the campaign is gone or not for this member (4403/4404): nothing to watch.
        root.setAttribute("data-live", name === "connected" ? "connected" : "disconnected");
      },
    });
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    window.groupbuyCopy(text.trim(), function () {
      var note = document.getElementById("jl-copied");
      if (note) note.hidden = false;
    });
  });

  // One submit per tap: the idempotency key already makes a resent form one order; this spares the request.
  var forms = root.querySelectorAll("form");
  for (var f = 0; f < forms.length; f++) {
    forms[f].addEventListener("submit", function (event) {
      if (root.hasAttribute("data-preview")) {
        event.preventDefault();
        return;
      }
      var question = this.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      if (this.getAttribute("data-submitted")) {
        event.preventDefault();
        return;
      }
      this.setAttribute("data-submitted", "1");
    });
  }

  // Steppers (−/+) beside each quantity box: the box stays for keyboards and pages without script.
  // They stop at 0 and at the box's max (the per-member limit, within the stock left).
  function formatFen(fen) {
    return "¥" + (fen / 100).toFixed(2);
  }

  function quantityOf(input) {
    var value = parseInt(input.value, 10);
    return isNaN(value) || value < 0 ? 0 : value;
  }

  function refreshForm() {
    var form = document.getElementById("jl-form");
    if (!form) return;
    var total = 0;
    var rows = form.querySelectorAll("[data-item]");
    for (var r = 0; r < rows.length; r++) {
      var input = rows[r].querySelector(".jl-qty");
      if (!input) continue;
      var quantity = quantityOf(input);
      var max = parseInt(input.getAttribute("max"), 10);
      total += quantity * (parseInt(rows[r].getAttribute("data-price"), 10) || 0);
      var less = rows[r].querySelector('[data-step="-1"]');
      var more = rows[r].querySelector('[data-step="1"]');
      if (less) less.disabled = input.disabled || quantity <= 0;
      if (more) more.disabled = input.disabled || (!isNaN(max) && quantity >= max);
    }
    setText("jl-total", formatFen(total));
  }

  function setupSteppers() {
    var form = document.getElementById("jl-form");
    if (!form) return;
    var steps = form.querySelectorAll("[data-step]");
    for (var i = 0; i < steps.length; i++) steps[i].hidden = false;
    form.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-step]") : null;
      if (!button || button.disabled) return;
      var input = button.parentNode.querySelector(".jl-qty");
      if (!input || input.disabled) return;
      var max = parseInt(input.getAttribute("max"), 10);
      var next = quantityOf(input) + parseInt(button.getAttribute("data-step"), 10);
      if (next < 0) next = 0;
      if (!isNaN(max) && next > max) next = max;
      input.value = String(next);
      refreshForm();
    });
    form.addEventListener("input", refreshForm);
    form.addEventListener("change", refreshForm);
    refreshForm();
  }

  setupSteppers();
  if (root.hasAttribute("data-preview")) return; // the operator's preview: nothing live, nothing sent
  connect();
})();
