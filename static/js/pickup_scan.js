// The pickup counter (核销): scan the member's QR with the back camera, or read it from a picture where the
// camera cannot be used (an http page, a refused permission, an old phone), then show the hand-out card.
// Decoding is ZXing C++ compiled to WebAssembly (the npm package zxing-wasm, copied to static/vendor by
// scripts/build-static.mjs): @zxing/browser, before it, missed about 1 code in 40 even in a clean screenshot of
// the member's own screen. The QR payload is exactly the 6-digit pickup code. Plain ES5 + promises, no build step.
(function () {
  "use strict";

  var root = document.getElementById("pickup-scan");
  if (!root) return;
  var startButton = document.getElementById("scan-start");
  var stopButton = document.getElementById("scan-stop");
  var camera = document.getElementById("scan-camera");
  var video = document.getElementById("scan-video");
  var errorBox = document.getElementById("scan-error");
  var photo = document.getElementById("scan-photo");
  var codeInput = document.getElementById("code-input");
  var zxing = window.ZXingWASM;
  var READ = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };
  var FRAME_MS = 120; // between two looks at the camera's picture
  var FRAME_SIDE = 960; // a camera frame is read at most this wide or high (a phone's 4K is needless work)
  var stream = null;
  var timer = null;
  var scan = 0; // the current opening of the camera
  var canvas = document.createElement("canvas");

  if (zxing) {
    // The .wasm comes from our static files (its URL is hashed in production), fetched now: the first scan
    // should not wait for it.
    zxing
      .prepareZXingModule({
        overrides: {
          locateFile: function (path, prefix) {
            return /\.wasm$/.test(path) ? root.getAttribute("data-wasm-url") : prefix + path;
          },
        },
        fireImmediately: true,
      })
      .then(
        function () { root.setAttribute("data-reader", "ready"); },
        // Reads then fail: a picture says no code was found, the camera that it could not be started.
        function () { root.setAttribute("data-reader", "failed"); }
      );
  }

  // The text of the one QR code in ``source`` (a Blob or ImageData), or null when there is none.
  function read(source) {
    return zxing.readBarcodes(source, READ).then(function (results) {
      return results.length ? results[0].text : null;
    });
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function cameraShown(shown) {
    camera.hidden = !shown;
    stopButton.hidden = !shown;
    startButton.hidden = shown;
  }

  function lookUp(text) {
    // Full-width digits and spaces are forgiven, as the server does.
    var code = String(text || "")
      .replace(/[０-９]/g, function (d) { return String.fromCharCode(d.charCodeAt(0) - 0xfee0); })
      .replace(/[\s-]/g, "");
    if (!/^\d{6}$/.test(code)) {
      showError(root.getAttribute("data-not-a-code"));
      return;
    }
    showError("");
    if (codeInput) codeInput.value = code;
    if (navigator.vibrate) navigator.vibrate(60);
    window.htmx.ajax("GET", root.getAttribute("data-lookup-url") + "?code=" + encodeURIComponent(code), {
      target: "#pickup-card",
      swap: "innerHTML",
    });
  }

  // Each opening of the camera is one scan; closing it (or a later opening) makes the earlier one's late
  // callbacks — a camera that came on, a frame read — do nothing.
  function stop() {
    scan += 1;
    clearTimeout(timer);
    if (stream) stopTracks(stream);
    stream = null;
    video.srcObject = null;
    cameraShown(false);
  }

  function stopTracks(opened) {
    opened.getTracks().forEach(function (track) { track.stop(); });
  }

  // One frame at a time, the next only after this one is read: a slow phone reads fewer frames, never a queue.
  function scanFrame(mine) {
    if (mine !== scan) return;
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || !height) {
      timer = setTimeout(scanFrame, FRAME_MS, mine);
      return;
    }
    var scale = Math.min(1, FRAME_SIDE / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    read(context.getImageData(0, 0, canvas.width, canvas.height)).then(
      function (text) {
        if (mine !== scan) return; // closed meanwhile: a photo or a typed code may be on the card now
        if (text === null) {
          timer = setTimeout(scanFrame, FRAME_MS, mine);
          return;
        }
        stop();
        lookUp(text);
      },
      function () {
        if (mine !== scan) return;
        stop();
        showError(root.getAttribute("data-camera-failed"));
      }
    );
  }

  function start() {
    showError("");
    if (!zxing || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError(root.getAttribute("data-no-camera"));
      return;
    }
    stop();
    var mine = scan;
    cameraShown(true);
    navigator.mediaDevices
      .getUserMedia({ audio: false, video: { facingMode: { ideal: "environment" } } })
      .then(function (opened) {
        if (mine !== scan) {
          stopTracks(opened); // closed before the camera came on
          return;
        }
        stream = opened;
        video.srcObject = opened;
        return video.play().then(function () {
          root.setAttribute("data-camera", "on");
          scanFrame(mine);
        });
      })
      .catch(function () {
        if (mine !== scan) return;
        stop();
        showError(root.getAttribute("data-camera-failed"));
      });
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  // Leaving the page (or putting the phone away) turns the camera off.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && !camera.hidden) stop();
  });

  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (!file) return;
    stop();
    if (!zxing) {
      showError(root.getAttribute("data-no-code-in-picture"));
      return;
    }
    read(file)
      .then(function (text) {
        if (text === null) showError(root.getAttribute("data-no-code-in-picture"));
        else lookUp(text);
      })
      .catch(function () {
        showError(root.getAttribute("data-no-code-in-picture"));
      })
      .then(function () {
        photo.value = "";
      });
  });

  // A card that appears (scanned, typed or tapped in a list) is brought into view above the thumb.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "pickup-card" && event.target.firstElementChild) {
      event.target.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });
})();
