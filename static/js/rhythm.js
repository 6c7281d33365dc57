// Copy buttons on the daily-rhythm pages: <button data-copy="#selector" data-copied="Copied">.
(function () {
  "use strict";

  function fallbackCopy(text) {
    // WeChat's in-app browser often lacks the async clipboard API; a selected textarea still copies.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    area.setSelectionRange(0, text.length);
    try {
      document.execCommand("copy");
    } catch (e) {
      /* the text stays selectable on the page */
    }
    document.body.removeChild(area);
  }

  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        fallbackCopy(text);
        done();
      });
      return;
    }
    fallbackCopy(text);
    done();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var label = button.textContent;
    copyText(source.textContent, function () {
      button.textContent = button.getAttribute("data-copied") || label;
      window.setTimeout(function () {
        button.textContent = label;
      }, 2000);
    });
  });
})();
