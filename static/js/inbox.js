// Member inbox: once the page has shown the messages (unread ones marked), tell the server they are
// read, up to the newest one shown. A GET never writes; this POST does (needs util.js).
(function () {
  "use strict";
  var inbox = document.getElementById("inbox");
  if (!inbox || !window.fetch) return;
  var upTo = inbox.getAttribute("data-up-to");
  if (!upTo || upTo === "0" || !inbox.querySelector(".unread")) return;
  var body = new FormData();
  body.append("up_to", upTo);
  fetch(inbox.getAttribute("data-read-url"), {
    method: "POST",
    body: body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": window.groupbuy.csrfToken(), Accept: "application/json" },
  }).catch(function () {});
})();
