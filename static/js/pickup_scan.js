// The pickup counter (核销): scan the member's QR with the back camera, or read it from a picture where the
// camera cannot be used (an http page, a refused permission, an old phone), then show the hand-out card.
// Decoding is @zxing/browser's (npm, copied to static/vendor by scripts/build-static.mjs); the QR payload is
// exactly the 6-digit pickup code. Plain ES5 + promises, no build step.
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
  var controls = null;
  var scanning = false;
  var reader = null;

  function getReader() {
    if (!reader) reader = new window.ZXingBrowser.BrowserQRCodeReader(undefined, { delayBetweenScanAttempts: 120 });
    return reader;
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

  function stop() {
    scanning = false;
    if (controls) controls.stop();
    controls = null;
    cameraShown(false);
  }

  function start() {
    showError("");
    if (!window.ZXingBrowser || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError(root.getAttribute("data-no-camera"));
      return;
    }
    cameraShown(true);
    scanning = true;
    getReader()
      .decodeFromConstraints(
        { audio: false, video: { facingMode: { ideal: "environment" } } },
        video,
        function (result, _error, running) {
          // No code in this frame yet; or one read already: frames decoded before the stop took effect must
          // not look the old code up again over a later card (a photo, a typed code).
          if (!result || !scanning) return;
          scanning = false;
          running.stop();
          controls = null;
          cameraShown(false);
          lookUp(result.getText());
        }
      )
      .then(function (running) {
        if (!scanning) {
          running.stop(); // a code was read (or the camera stopped) before the camera reported it was on
          return;
        }
        controls = running;
        root.setAttribute("data-camera", "on");
      })
      .catch(function () {
        cameraShown(false);
        showError(root.getAttribute("data-camera-failed"));
      });
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  // Leaving the page (or putting the phone away) turns the camera off.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && controls) stop();
  });

  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (!file) return;
    if (scanning) stop();
    if (!window.ZXingBrowser) {
      showError(root.getAttribute("data-no-code-in-picture"));
      return;
    }
    var url = URL.createObjectURL(file);
    getReader()
      .decodeFromImageUrl(url)
      .then(function (result) {
        lookUp(result.getText());
      })
      .catch(function () {
        showError(root.getAttribute("data-no-code-in-picture"));
      })
      .then(function () {
        URL.revokeObjectURL(url);
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
