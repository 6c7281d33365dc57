// Campaign builder.
// - "Add an item" appends an empty row to the items formset (Django's empty_form, with __prefix__
//   replaced by the next index) and counts it in TOTAL_FORMS.
// - Price tiers are rows of fields ("from join no. N on, ¥price"), added and removed here; each
//   row posts <prefix>-tier_joins and <prefix>-tier_price.
// - Each row shows its SKU's product photo (the product's cover), from the map the page carries.
// - "New product…" opens a dialog that creates a product and one SKU in the catalogue (JSON, with
//   the CSRF token) and puts it into every SKU select, chosen on the row that asked for it.
// Without JavaScript the builder still offers its three empty rows with one tier row each, and a
// link to the catalogue.
(function () {
  "use strict";
  var table = document.getElementById("jl-items");
  var template = document.getElementById("jl-item-template");
  var tierTemplate = document.getElementById("jl-tier-template");
  var button = document.getElementById("jl-add-item");
  if (!table || !template || !button) return;
  var prefix = table.getAttribute("data-prefix");
  var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
  if (!total) return;
  var photosNode = document.getElementById("jl-sku-photos");
  var photos = photosNode ? JSON.parse(photosNode.textContent) : {};

  function refresh() {
    button.disabled = max && parseInt(total.value, 10) >= parseInt(max.value, 10);
  }

  function reveal(scope) {
    var hidden = scope.querySelectorAll("[data-add-tier], [data-remove-tier]");
    for (var i = 0; i < hidden.length; i++) hidden[i].hidden = false;
  }

  function showPhoto(row) {
    var select = row.querySelector("select[name$='-sku']");
    var img = row.querySelector("[data-sku-photo]");
    var none = row.querySelector("[data-sku-nophoto]");
    if (!select || !img) return;
    var url = photos[select.value] || "";
    img.hidden = !url;
    if (url) img.src = url;
    else img.removeAttribute("src");
    if (none) none.hidden = !!url;
  }

  function addRow() {
    var index = parseInt(total.value, 10);
    if (max && index >= parseInt(max.value, 10)) return null;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    table.tBodies[0].insertAdjacentHTML("beforeend", html.trim());
    total.value = String(index + 1);
    refresh();
    var row = table.tBodies[0].lastElementChild;
    reveal(row);
    return row;
  }

  button.hidden = false;
  reveal(table);
  refresh();
  button.addEventListener("click", function () {
    var row = addRow();
    if (!row) return;
    var first = row.querySelector("select, input");
    if (first) first.focus();
  });

  table.addEventListener("change", function (event) {
    var row = event.target.closest("[data-item-row]");
    if (row && /-sku$/.test(event.target.name || "")) showPhoto(row);
  });

  table.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-tier]");
    if (add && tierTemplate) {
      var row = add.closest("[data-item-row]");
      var html = tierTemplate.innerHTML.replace(/__tierprefix__/g, row.getAttribute("data-prefix"));
      var list = row.querySelector("[data-tiers]");
      list.insertAdjacentHTML("beforeend", html.trim());
      reveal(list);
      var joins = list.lastElementChild.querySelector("input");
      if (joins) joins.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-tier]");
    if (remove) {
      var tier = remove.closest("[data-tier]");
      var tiers = tier.parentNode;
      if (tiers.querySelectorAll("[data-tier]").length > 1) {
        tiers.removeChild(tier);
      } else {
        // The last row stays (so the page still posts its tier fields): it is emptied instead.
        var inputs = tier.querySelectorAll("input");
        for (var i = 0; i < inputs.length; i++) inputs[i].value = "";
      }
    }
  });

  // --- New product without leaving the builder ---------------------------------------------
  var dialog = document.getElementById("jl-product-dialog");
  var opener = document.getElementById("jl-new-product");
  var productForm = document.getElementById("jl-product-form");
  if (!dialog || !opener || !productForm || typeof dialog.showModal !== "function") return;
  var errorBox = document.getElementById("jl-product-error");
  var targetRow = null;
  opener.hidden = false;

  function emptyRow() {
    var rows = table.tBodies[0].querySelectorAll("[data-item-row]");
    for (var i = 0; i < rows.length; i++) {
      var select = rows[i].querySelector("select[name$='-sku']");
      if (select && !select.value) return rows[i];
    }
    return addRow();
  }

  opener.addEventListener("click", function () {
    targetRow = null;
    errorBox.hidden = true;
    dialog.showModal();
    var first = productForm.querySelector("input[name=name]");
    if (first) first.focus();
  });
  document.getElementById("jl-product-close").addEventListener("click", function () {
    dialog.close();
  });

  productForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var save = document.getElementById("jl-product-save");
    save.disabled = true;
    errorBox.hidden = true;
    var token = productForm.querySelector("input[name=csrfmiddlewaretoken]").value;
    fetch(productForm.action, {
      method: "POST",
      body: new FormData(productForm),
      headers: { "X-CSRFToken": token, Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        save.disabled = false;
        if (!result.ok || !result.body.sku) {
          errorBox.textContent = (result.body && result.body.error) || productForm.getAttribute("data-failed") || "";
          errorBox.hidden = false;
          return;
        }
        var sku = result.body.sku;
        if (sku.photo) photos[String(sku.id)] = sku.photo;
        // Every select (and the template for rows added later) learns the new SKU.
        var selects = document.querySelectorAll("#jl-items select[name$='-sku']");
        for (var i = 0; i < selects.length; i++) selects[i].add(new Option(sku.label, String(sku.id)));
        var templateSelect = template.content ? template.content.querySelector("select[name$='-sku']") : null;
        if (templateSelect) templateSelect.add(new Option(sku.label, String(sku.id)));
        var row = targetRow || emptyRow();
        if (row) {
          var select = row.querySelector("select[name$='-sku']");
          select.value = String(sku.id);
          showPhoto(row);
          var price = row.querySelector("input[name$='-price']");
          var typed = productForm.querySelector("input[name=price]").value;
          if (price && !price.value) price.value = typed;
        }
        productForm.reset();
        dialog.close();
      })
      .catch(function () {
        save.disabled = false;
        errorBox.textContent = productForm.getAttribute("data-failed");
        errorBox.hidden = false;
      });
  });
})();
