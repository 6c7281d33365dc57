// Entry-questionnaire editor: shows the fields that fit each question's kind, keeps the highest possible
// score next to the pass threshold, and adds blank questions. Without JavaScript every field shows and
// one blank question is always there, so the page still works.
(function () {
  "use strict";

  function number(input) {
    var value = parseInt(input && input.value, 10);
    return isNaN(value) ? 0 : value;
  }

  function questionMax(section) {
    var deleted = section.querySelector('input[name$="-delete"]');
    if (deleted && deleted.checked) return 0;
    var kind = section.querySelector("[data-kind]").value;
    if (kind === "text") return Math.max(0, number(section.querySelector("[data-text-points]")));
    var scores = [];
    section.querySelectorAll("[data-choices] tbody tr").forEach(function (row) {
      var text = row.querySelector('input[type="text"]');
      if (text && text.value.trim()) scores.push(number(row.querySelector("[data-score]")));
    });
    if (kind === "single") return Math.max.apply(null, [0].concat(scores));
    return scores.filter(function (s) { return s > 0; }).reduce(function (a, b) { return a + b; }, 0);
  }

  function refresh(form) {
    var total = 0;
    form.querySelectorAll("#questions [data-question]").forEach(function (section) {
      var kind = section.querySelector("[data-kind]").value;
      section.querySelector("[data-choices]").hidden = kind === "text";
      section.querySelector("[data-text-settings]").hidden = kind !== "text";
      total += questionMax(section);
    });
    var max = form.querySelector("#max-score");
    if (max) max.textContent = String(total);
    var auto = form.querySelector("#auto-approve");
    var threshold = form.querySelector("#threshold");
    if (auto && threshold) threshold.disabled = !auto.checked;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("questionnaire-editor");
    if (!form) return;
    form.addEventListener("input", function () { refresh(form); });
    form.addEventListener("change", function () { refresh(form); });
    var add = document.getElementById("add-question");
    var template = document.getElementById("question-template");
    if (add && template) {
      add.hidden = false;
      add.addEventListener("click", function () {
        var next = 0;
        form.querySelectorAll("#questions [data-question]").forEach(function (section) {
          next = Math.max(next, parseInt(section.dataset.index, 10) + 1);
        });
        var holder = document.createElement("div");
        holder.innerHTML = template.innerHTML.replace(/__Q__/g, String(next));
        var section = holder.firstElementChild;
        document.getElementById("questions").appendChild(section);
        refresh(form);
        section.querySelector('input[type="text"]').focus();
      });
    }
    refresh(form);
  });
})();
