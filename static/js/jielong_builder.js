// Campaign builder: "Add an item" appends an empty row to the items formset (Django's empty_form,
// with __prefix__ replaced by the next index) and counts it in TOTAL_FORMS. Without JavaScript
// the builder still offers its three empty rows.
(function () {
  "use strict";
  var table = document.getElementById("jl-items");
  var template = document.getElementById("jl-item-template");
  var button = document.getElementById("jl-add-item");
  if (!table || !template || !button) return;
  var prefix = table.getAttribute("data-prefix");
  var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
  if (!total) return;

  function refresh() {
    button.disabled = max && parseInt(total.value, 10) >= parseInt(max.value, 10);
  }

  button.hidden = false;
  refresh();
  button.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (max && index >= parseInt(max.value, 10)) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    table.tBodies[0].insertAdjacentHTML("beforeend", html.trim());
    total.value = String(index + 1);
    refresh();
    var first = table.tBodies[0].lastElementChild.querySelector("select, input");
    if (first) first.focus();
  });
})();
