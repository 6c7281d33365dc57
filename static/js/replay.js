// The replay (回放) of an ended live: chapters jump to each product's explanation; parts switch recordings.
(function () {
  "use strict";
  var section = document.getElementById("replay");
  if (!section) return;
  var video = document.getElementById("replay-player");

  function clock(total) {
    total = Math.floor(total);
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    var mm = (h && m < 10 ? "0" : "") + m;
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
  }

  section.querySelectorAll(".replay-at").forEach(function (span) {
    span.textContent = clock(parseFloat(span.getAttribute("data-seconds")) || 0);
  });

  section.querySelectorAll(".replay-chapters button").forEach(function (button) {
    button.addEventListener("click", function () {
      video.currentTime = parseFloat(button.getAttribute("data-at")) || 0;
      video.play().catch(function () {});
    });
  });

  section.querySelectorAll(".js-replay-part").forEach(function (button) {
    button.addEventListener("click", function () {
      video.src = button.getAttribute("data-src");
      var part = button.getAttribute("data-part");
      section.querySelectorAll(".replay-chapters").forEach(function (list) {
        list.hidden = list.getAttribute("data-part") !== part;
      });
      video.play().catch(function () {});
    });
  });

  video.addEventListener("timeupdate", function () {
    var t = video.currentTime;
    section.querySelectorAll(".replay-chapters:not([hidden]) button").forEach(function (button, i, all) {
      var start = parseFloat(button.getAttribute("data-at"));
      var next = i + 1 < all.length ? parseFloat(all[i + 1].getAttribute("data-at")) : Infinity;
      button.classList.toggle("is-current", t >= start && t < next);
    });
  });
})();
