// Live room before the start: the countdown to the scheduled start, and the copy button of the invite link.
(function () {
  "use strict";
  var countdown = document.getElementById("live-countdown");
  if (countdown) {
    var startsAt = parseInt(countdown.getAttribute("data-starts-at"), 10);
    var out = countdown.querySelector("[data-countdown]");
    var dayWord = countdown.getAttribute("data-days") || "d";
    var oneDay = countdown.getAttribute("data-day") || dayWord;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var tick = function () {
      var left = Math.max(0, Math.floor((startsAt - Date.now()) / 1000));
      var days = Math.floor(left / 86400);
      var rest = left % 86400;
      var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
      out.textContent = (days ? days + " " + (days === 1 ? oneDay : dayWord) + " " : "") + text;
      if (left > 0) window.setTimeout(tick, 1000);
    };
    tick();
  }

  var copy = document.getElementById("share-copy");
  var link = document.getElementById("share-link");
  if (copy && link) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var done = function () {
        copy.textContent = copy.getAttribute("data-copied");
        window.setTimeout(function () { copy.textContent = copy.getAttribute("data-label"); }, 2000);
      };
      var byHand = function () {
        link.focus();
        link.select();
        try { if (document.execCommand("copy")) done(); } catch (e) { /* the link stays selected to copy by hand */ }
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link.value).then(done, byHand);
      else byHand();
    });
  }
})();
