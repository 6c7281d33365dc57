// The host panel's stream card: copy and reveal the encoder settings, preview the stream once the encoder
// connects, and keep the connection and each push destination's status current (polled every 2 s).
(function () {
  "use strict";
  var card = document.getElementById("stream");
  if (!card) return;

  card.querySelectorAll(".js-copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var label = button.textContent;
      window.groupbuyCopy(input.value, function () {
        button.textContent = button.getAttribute("data-copied");
        window.setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });
  card.querySelectorAll(".js-reveal").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-target"));
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = button.getAttribute(show ? "data-hide" : "data-show");
    });
  });

  var video = document.getElementById("stream-preview");
  var empty = document.getElementById("stream-preview-empty");
  var badge = document.getElementById("stream-state");
  var serverDown = document.getElementById("stream-server-down");
  var player = null;

  function setConnected(on) {
    card.setAttribute("data-connected", on ? "1" : "0");
    if (badge) {
      badge.textContent = badge.getAttribute(on ? "data-on" : "data-off");
      badge.classList.toggle("badge-live", on);
    }
    if (!video) return;
    video.hidden = !on;
    if (empty) empty.hidden = on;
    if (on && !player) player = window.groupbuyPlayer.attach(video, card.getAttribute("data-hls"));
    if (!on && player) {
      player.destroy();
      player = null;
    }
  }

  function setDestinations(list) {
    list.forEach(function (d) {
      var row = card.querySelector('tr[data-destination="' + d.id + '"]');
      if (!row) return;
      var status = row.querySelector('[data-role="status"]');
      status.textContent = d.status_label;
      status.className = "badge dest-" + d.status;
      row.querySelector('[data-role="reason"]').textContent = d.reason || "";
    });
  }

  function poll() {
    fetch(card.getAttribute("data-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        if (serverDown) serverDown.hidden = s.server_up;
        setConnected(s.connected);
        setDestinations(s.destinations);
      })
      .catch(function () {});
  }

  setConnected(card.getAttribute("data-connected") === "1");
  // An ended session's card (no preview) has nothing live to follow.
  if (video) window.setInterval(poll, 2000);
})();
