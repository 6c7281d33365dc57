// Member live room: the picture and the heartbeats.
//
// The platform's own stream (media app): the room shows a waiting card until the host's encoder is on air;
// the room's socket (live_room.js) passes each room snapshot's ``media`` part to groupbuyLiveStage.set, which
// switches to the player (HLS via media_player.js) and back, without a reload. A pasted HLS URL
// (data-fixed) just plays.
//
// Heartbeats: about every 10 s while the page is visible and the player plays (or there is no player of
// ours to watch), and once when playback starts; the server credits min(gap, 2 × interval) seconds.
(function () {
  "use strict";
  var room = document.getElementById("live-room");
  if (!room) return;
  var video = document.getElementById("live-player");
  var waiting = document.getElementById("live-waiting");
  var waitingText = document.getElementById("live-waiting-text");
  var player = null;

  function play() {
    if (!video || player) return;
    player = window.groupbuyPlayer.attach(video, video.getAttribute("data-src"));
  }

  function stop() {
    if (!player) return;
    player.destroy();
    player = null;
  }

  window.groupbuyLiveStage = {
    set: function (media) {
      if (!video || video.getAttribute("data-fixed") || !media) return;
      if (media.hls_url) video.setAttribute("data-src", media.hls_url);
      var onAir = !!media.on_air;
      video.hidden = !onAir;
      if (waiting) {
        waiting.hidden = onAir;
        if (waitingText) waitingText.textContent = waiting.getAttribute(media.server_up ? "data-waiting" : "data-down");
      }
      room.setAttribute("data-on-air", onAir ? "1" : "0");
      if (onAir) play();
      else stop();
    },
  };

  if (video && (video.getAttribute("data-fixed") || !video.hidden)) play();

  var url = room.getAttribute("data-heartbeat-url");
  var seconds = parseInt(room.getAttribute("data-heartbeat-seconds"), 10) || 10;
  var online = document.getElementById("live-online");
  var last = 0;

  function watching() {
    if (document.visibilityState === "hidden") return false;
    // A paused player is not watching; a waiting card (or no player) still counts as being in the room.
    return !video || video.hidden || !video.paused;
  }

  function beat(force) {
    if (!force && !watching()) return;
    var now = Date.now();
    if (now - last < 2000) return; // player events come in bursts
    last = now;
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": window.groupbuy.csrfToken() } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        // null: the online count is unknown right now (Redis away); the watch time was still credited.
        if (online && data.online !== undefined) online.textContent = data.online === null ? "–" : data.online;
      })
      .catch(function () {});
  }

  if (video) {
    video.addEventListener("playing", function () { beat(true); });
  }
  beat(true);
  window.setInterval(function () { beat(false); }, seconds * 1000);
})();
