// Tracking pages (driver, delivery-day tracking, the leader's "received"): confirm a batch step before it is
// sent, send it once per tap, and copy the leader's group text.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) return;
    if (form.getAttribute("data-sent")) {
      event.preventDefault(); // a second tap while the first is on its way
      return;
    }
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
    var button = form.querySelector("button[type=submit]");
    if (button) button.setAttribute("aria-busy", "true");
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-tk-copy]") : null;
    if (!button || !window.groupbuyCopy) return;
    var source = document.querySelector(button.getAttribute("data-tk-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    window.groupbuyCopy(text.trim(), function () {
      var done = button.getAttribute("data-done");
      if (done) {
        var label = button.textContent;
        button.textContent = done;
        window.setTimeout(function () {
          button.textContent = label;
        }, 2000);
      }
    });
  });
})();
