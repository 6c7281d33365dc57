// HLS playback for the live room and the host's preview: hls.js (npm, copied to static/vendor by
// scripts/build-static.mjs) where Media Source Extensions exist, else native HLS (older iOS Safari, WeChat on
// iOS) when video.canPlayType('application/vnd.apple.mpegurl'). hls.js is tuned for a short delay: 1 s
// fragments, play 1.2 s behind the live edge, catch up by playing slightly faster, and jump ahead when more
// than 4 s behind (bench/media.py: ~2.6 s glass to glass, no stalls, on the 2-core machine). A playlist that is not there yet (the encoder just connected) is
// retried, so the player can start the moment the room is told the stream is on.
(function () {
  "use strict";

  var LIVE = {
    liveSyncDuration: 1.2,
    liveMaxLatencyDuration: 4,
    maxLiveSyncPlaybackRate: 1.15,
    maxBufferLength: 8,
    backBufferLength: 10,
    lowLatencyMode: false,
    manifestLoadingMaxRetry: 30,
    manifestLoadingRetryDelay: 1000,
    manifestLoadingMaxRetryTimeout: 4000,
    levelLoadingMaxRetry: 10,
    fragLoadingMaxRetry: 10,
  };

  function attach(video, src) {
    var hls = null;
    var retry = null;
    var stopped = false;

    function start() {
      if (stopped) return;
      if (!window.Hls || !window.Hls.isSupported()) {
        // No Media Source Extensions (older iOS Safari, WeChat on iOS): the browser's own HLS.
        if (video.canPlayType("application/vnd.apple.mpegurl")) {
          video.src = src;
          video.play().catch(function () {});
        }
        return;
      }
      // hls.js wherever it runs, even where the browser also says it can play HLS itself (recent Chromium
      // does): its live-sync tuning is what keeps the delay short.
      hls = new window.Hls(LIVE);
      hls.on(window.Hls.Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        // Give up this instance and start again shortly: the stream may be reconnecting.
        hls.destroy();
        hls = null;
        window.clearTimeout(retry);
        retry = window.setTimeout(start, 2000);
      });
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        video.play().catch(function () {});
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    }

    start();
    return {
      destroy: function () {
        stopped = true;
        window.clearTimeout(retry);
        if (hls) hls.destroy();
        hls = null;
        video.removeAttribute("src");
        video.load();
      },
    };
  }

  window.groupbuyPlayer = { attach: attach, config: LIVE };
})();
