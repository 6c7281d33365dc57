// Shared helpers for the page scripts (plain ES5, no build step): money written the way the server
// writes it (groupbuy.money.format_fen) and the CSRF token for POSTs from script.
//   window.groupbuy.fen(1230)    → "¥12.30"   (fen, thousands separated; "-¥…" below zero; "" for null)
//   window.groupbuy.csrfToken()  → the token Django's CsrfViewMiddleware expects in X-CSRFToken
(function () {
  "use strict";
  var gb = (window.groupbuy = window.groupbuy || {});

  gb.fen = function (value) {
    if (value === null || value === undefined || value === "") return "";
    var fen = Math.round(Number(value));
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var cents = fen % 100;
    var yuan = String((fen - cents) / 100).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "¥" + yuan + "." + (cents < 10 ? "0" : "") + cents;
  };

  gb.csrfToken = function () {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    // No cookie (e.g. blocked): the shell puts the token in the body's hx-headers for htmx too.
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  };
})();
