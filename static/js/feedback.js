// The review form: show the chosen photos as thumbnails (the native file button is hidden: its label would be
// in the browser's language, not the page's).
(function () {
  "use strict";
  var input = document.getElementById("review-photos");
  if (!input) return;
  var box = document.getElementById("review-previews");
  var count = document.getElementById("review-photo-count");
  input.addEventListener("change", function () {
    box.textContent = "";
    var files = Array.prototype.slice.call(input.files || []);
    files.forEach(function (file) {
      if (!/^image\//.test(file.type)) return;
      var img = document.createElement("img");
      img.alt = "";
      img.src = URL.createObjectURL(file);
      box.appendChild(img);
    });
    count.textContent = files.length ? count.getAttribute("data-template").replace("{n}", files.length) : "";
  });
})();
