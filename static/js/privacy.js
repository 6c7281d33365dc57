// Privacy console: an irreversible action (anonymise now) asks once more before its form is sent.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-confirm]");
  for (var i = 0; i < forms.length; i++) {
    forms[i].addEventListener("submit", function (event) {
      if (!window.confirm(this.getAttribute("data-confirm"))) event.preventDefault();
    });
  }
})();
