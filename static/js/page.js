// Behaviour every page may use, declared with data attributes instead of inline handlers (the
// Content-Security-Policy runs no inline script, on*= attribute or javascript: URL). Delegated from the
// document, so content swapped in later (htmx, live updates) behaves the same.
//   <form data-ask="Cancel?">, <button data-ask="Refund?">  ask before submitting; no submits nothing
//   <select data-autosubmit>                               submits its form when changed
//   <select data-action-from-option>                       its form posts to the chosen option's data-url
//   <form data-once>                                       its buttons are disabled once it is submitted
//   <input type="file" data-count-into="id" data-chosen="{n} files">  writes the count into #id
//   <button data-print>                                    prints the page
(function () {
  "use strict";

  function ask(element, event) {
    var question = element.getAttribute("data-ask");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return false;
    }
    return true;
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      if (form.hasAttribute("data-ask") && !ask(form, event)) return;
      if (form.hasAttribute("data-once")) {
        // After this turn, so the clicked button's name and value are still submitted.
        window.setTimeout(function () {
          form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
            button.disabled = true;
          });
        }, 0);
      }
    },
    true
  );

  document.addEventListener(
    "click",
    function (event) {
      var target = event.target instanceof Element ? event.target : null;
      if (!target) return;
      var asking = target.closest("button[data-ask], input[type=submit][data-ask], a[data-ask]");
      if (asking && !ask(asking, event)) return;
      if (target.closest("[data-print]")) window.print();
    },
    true
  );

  function actionFromOption(select) {
    var option = select.selectedOptions && select.selectedOptions[0];
    if (select.form && option && option.getAttribute("data-url")) select.form.action = option.getAttribute("data-url");
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("select[data-autosubmit]") && target.form) target.form.submit();
    if (target.matches("select[data-action-from-option]")) actionFromOption(target);
    if (target.matches("input[type=file][data-count-into]")) {
      var into = document.getElementById(target.getAttribute("data-count-into"));
      if (into) {
        var n = target.files ? target.files.length : 0;
        into.textContent = n ? (target.getAttribute("data-chosen") || "{n}").replace("{n}", String(n)) : "";
      }
    }
  });

  function setUp(root) {
    (root || document).querySelectorAll("select[data-action-from-option]").forEach(actionFromOption);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      setUp(document);
    });
  } else {
    setUp(document);
  }
  document.addEventListener("htmx:load", function (event) {
    if (event.target instanceof Element) setUp(event.target);
  });
})();
