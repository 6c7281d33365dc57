// Member live room: play the HLS stream (hls.js, or native HLS on iOS) and send a heartbeat
// about every 10 s while the page is visible. The server credits min(gap, 2 × interval) seconds.
(function () {
  "use strict";
  var room = document.getElementById("live-room");
  if (!room) return;
  var video = document.getElementById("live-player");
  if (video) {
    var src = video.getAttribute("data-src");
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls();
      hls.loadSource(src);
      hls.attachMedia(video);
    }
  }
  var url = room.getAttribute("data-heartbeat-url");
  var seconds = parseInt(room.getAttribute("data-heartbeat-seconds"), 10) || 10;
  var online = document.getElementById("live-online");
  function beat() {
    if (document.visibilityState === "hidden") return;
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": window.groupbuy.csrfToken() } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        // null: the online count is unknown right now (Redis away); the watch time was still credited.
        if (online && data.online !== undefined) online.textContent = data.online === null ? "–" : data.online;
      })
      .catch(function () {});
  }
  beat();
  window.setInterval(beat, seconds * 1000);
})();
