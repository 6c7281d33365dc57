/* Purchase summary (采购汇总): live figures over a WebSocket, and each supplier's cut-off countdown.
 *
 * The server pushes whole, versioned snapshots ({"type": "snapshot", "snapshot": {...}}); one older than
 * what the page shows is ignored. A join only moves the ordered figures, which are updated in place (and
 * flash). When anything else changed — a SKU, a delivery day, a pick line, a confirmation, a shortage — the
 * snapshot's "shape" differs from the page's, and the suppliers are fetched again as HTML from the server
 * (one template renders them, on load and after). socket.js keeps the connection (backoff, re-sync).
 * Plain ES5, no build step.
 */
(function () {
  "use strict";

  var root = document.getElementById("pc-summary");
  var brandSelect = document.querySelector(".pc-brand select");
  if (brandSelect) {
    brandSelect.addEventListener("change", function () {
      brandSelect.form.submit();
    });
  }
  if (!root) return;

  var live = document.getElementById("pc-live");
  var liveText = document.getElementById("pc-live-text");
  var updated = document.getElementById("pc-updated");
  // The server's clock, not the laptop's: the countdown is to the server's cut-off.
  var skew = (Date.parse(root.getAttribute("data-server-now")) || Date.now()) - Date.now();
  var fetching = false;
  var refetch = false;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function list() {
    return document.getElementById("pc-suppliers");
  }

  function shownVersion() {
    var el = list();
    return el ? parseInt(el.getAttribute("data-version"), 10) || 0 : 0;
  }

  function number(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function setLive(state) {
    if (!live) return;
    live.setAttribute("data-state", state);
    var text = live.getAttribute("data-tpl-" + state);
    if (text && liveText) liveText.textContent = text;
  }

  function stampUpdated() {
    if (!updated) return;
    var now = new Date(Date.now() + skew);
    var pad = function (n) {
      return (n < 10 ? "0" : "") + n;
    };
    var time = pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
    updated.textContent = fill(live.getAttribute("data-tpl-updated"), { time: time });
  }

  function setCell(key, text) {
    var el = root.querySelector('[data-k="' + key + '"]');
    if (!el || el.textContent === text) return;
    el.textContent = text;
    el.classList.remove("pc-bumped");
    void el.offsetWidth; // restart the flash
    el.classList.add("pc-bumped");
  }

  function applyNumbers(snapshot) {
    (snapshot.suppliers || []).forEach(function (supplier) {
      (supplier.skus || []).forEach(function (sku) {
        setCell(sku.id + "-open", number(sku.open));
        setCell(sku.id + "-formed", number(sku.formed));
        setCell(sku.id + "-ordered", number(sku.ordered));
        setCell(sku.id + "-packs", sku.packs || "");
      });
    });
    var el = list();
    if (el) el.setAttribute("data-version", snapshot.version);
  }

  function reload() {
    if (fetching) {
      refetch = true;
      return;
    }
    fetching = true;
    var request = new XMLHttpRequest();
    request.open("GET", root.getAttribute("data-fragment"));
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.onload = function () {
      fetching = false;
      if (request.status === 200) {
        var holder = document.createElement("div");
        holder.innerHTML = request.responseText;
        var fresh = holder.querySelector("#pc-suppliers");
        var old = list();
        // A slower fetch must not replace a newer one.
        if (fresh && old && (parseInt(fresh.getAttribute("data-version"), 10) || 0) >= shownVersion()) {
          old.parentNode.replaceChild(fresh, old);
          tick();
        }
      }
      if (refetch) {
        refetch = false;
        reload();
      }
    };
    request.onerror = function () {
      fetching = false;
    };
    request.send();
  }

  function onSnapshot(snapshot) {
    if (!snapshot || snapshot.version < shownVersion()) return;
    stampUpdated();
    var el = list();
    if (el && snapshot.shape === el.getAttribute("data-shape")) {
      applyNumbers(snapshot);
    } else {
      reload();
    }
  }

  // --- cut-off countdowns -------------------------------------------------------------------------------
  var DAY = 24 * 3600 * 1000;
  var NEAR = 3600 * 1000;

  function tick() {
    var now = Date.now() + skew;
    var nodes = root.querySelectorAll("[data-cutoff-at]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var at = Date.parse(node.getAttribute("data-cutoff-at"));
      var out = node.querySelector(".pc-countdown");
      if (!at || !out) continue;
      var left = at - now;
      var text;
      var passed = left <= 0;
      if (passed) {
        // Today's cut-off went by while the page was open: count to tomorrow's.
        left += Math.ceil(-left / DAY) * DAY;
        if (left === 0) left = DAY;
      }
      var h = Math.floor(left / 3600000);
      var m = Math.floor((left % 3600000) / 60000);
      var s = Math.floor((left % 60000) / 1000);
      if (passed) text = fill(root.getAttribute("data-tpl-passed"), { h: h, m: m });
      else if (left < NEAR) text = fill(root.getAttribute("data-tpl-left-ms"), { m: m, s: s });
      else text = fill(root.getAttribute("data-tpl-left-hm"), { h: h, m: m });
      if (out.textContent !== text) out.textContent = text;
      out.classList.toggle("is-near", !passed && left < NEAR);
      out.classList.toggle("is-passed", passed);
    }
  }

  tick();
  window.setInterval(tick, 1000);

  if (window.groupbuy && window.groupbuy.socket) {
    window.groupbuy.socket(root.getAttribute("data-socket"), {
      onMessage: function (message) {
        if (message.type === "snapshot") onSnapshot(message.snapshot);
      },
      onState: function (state) {
        setLive(state);
      },
    });
  } else {
    setLive("closed");
  }
})();
