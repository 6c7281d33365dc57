// Copy text to the clipboard, also inside WeChat's in-app browser: window.groupbuyCopy(text, done).
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

  window.groupbuyCopy = function (text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        fallbackCopy(text);
        done();
      });
      return;
    }
    fallbackCopy(text);
    done();
  };
})();
