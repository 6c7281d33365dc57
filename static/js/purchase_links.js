/* Supplier links page: copy the new link, ask before revoking, and make the page that showed the new link a
 * plain GET (a reload neither shows the link again nor makes a second one). Plain ES5. */
(function () {
  "use strict";

  if (document.getElementById("new-link") && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.href);
  }

  var copy = document.getElementById("pl-copy");
  var input = document.getElementById("pl-url");
  if (copy && input) {
    var label = copy.textContent;
    copy.addEventListener("click", function () {
      window.groupbuyCopy(input.value, function () {
        copy.textContent = copy.getAttribute("data-done");
        window.setTimeout(function () {
          copy.textContent = label;
        }, 2000);
      });
    });
    input.addEventListener("focus", function () {
      input.select();
    });
  }

  var forms = document.querySelectorAll("form[data-confirm]");
  for (var i = 0; i < forms.length; i++) {
    forms[i].addEventListener("submit", function (event) {
      if (!window.confirm(this.getAttribute("data-confirm"))) event.preventDefault();
    });
  }
})();
