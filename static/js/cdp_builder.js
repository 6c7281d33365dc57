// The segment builder (ops/cdp/_builder.html): shows each condition's inputs for its field and counts the
// segment as the rule changes.
(function () {
  const form = document.getElementById("segment-builder");
  const out = document.getElementById("segment-count");
  function sync(row) {
    const opt = row.querySelector(".cdp-field").selectedOptions[0];
    const choice = opt && opt.dataset.value === "choice";
    row.querySelector(".cdp-value").hidden = choice;
    const sel = row.querySelector(".cdp-choice");
    sel.hidden = !choice;
    sel.querySelectorAll("optgroup").forEach(g => { g.hidden = !(opt && g.dataset.field === opt.value); });
    if (choice && sel.selectedOptions[0] && sel.selectedOptions[0].parentNode.hidden) {
      const first = sel.querySelector('optgroup[data-field="' + opt.value + '"] option');
      if (first) first.selected = true;
    }
    row.querySelector(".cdp-event").hidden = !(opt && opt.value === "event_count");
    row.querySelector(".cdp-window").hidden = !(opt && opt.dataset.window);
  }
  let timer = null;
  async function count() {
    out.textContent = "…";
    const response = await fetch(form.dataset.countUrl, {method: "POST", body: new FormData(form)});
    const data = await response.json();
    out.textContent = data.error || data.text;
    out.classList.toggle("cdp-error", !!data.error);
  }
  form.querySelectorAll(".cdp-condition").forEach(row => { sync(row); row.querySelector(".cdp-field").addEventListener("change", () => sync(row)); });
  form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(count, 300); });
  document.getElementById("segment-count-button").addEventListener("click", count);
  if (form.querySelector(".cdp-field").value) count();
})();
