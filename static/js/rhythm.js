// Copy buttons on the daily-rhythm pages: <button data-copy="#selector" data-copied="Copied"> (needs copy.js).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var label = button.textContent;
    window.groupbuyCopy(source.textContent, function () {
      button.textContent = button.getAttribute("data-copied") || label;
      window.setTimeout(function () {
        button.textContent = label;
      }, 2000);
    });
  });
})();
