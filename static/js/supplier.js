/* The supplier's page: − / + steppers beside each quantity (a short line turns red), the cut-off countdown,
 * and a question before 已发货. Plain ES5 (WeChat's in-app browser). */
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function mark(input) {
    var max = parseInt(input.getAttribute("max"), 10);
    var value = parseInt(input.value, 10);
    input.classList.toggle("is-less", !isNaN(value) && !isNaN(max) && value < max);
  }

  var inputs = document.querySelectorAll(".sp-stepper input");
  for (var i = 0; i < inputs.length; i++) {
    mark(inputs[i]);
    inputs[i].addEventListener("input", function () {
      mark(this);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".sp-step") : null;
    if (!button || button.disabled) return;
    var input = button.parentNode.querySelector("input");
    var max = parseInt(input.getAttribute("max"), 10);
    var value = parseInt(input.value, 10);
    if (isNaN(value)) value = 0;
    value += parseInt(button.getAttribute("data-step"), 10);
    if (value < 0) value = 0;
    if (!isNaN(max) && value > max) value = max;
    input.value = value;
    mark(input);
  });

  var forms = document.querySelectorAll("form[data-confirm]");
  for (var j = 0; j < forms.length; j++) {
    forms[j].addEventListener("submit", function (event) {
      if (!window.confirm(this.getAttribute("data-confirm"))) event.preventDefault();
    });
  }

  // One submit per tap: a slow network must not send the form twice.
  var posts = document.querySelectorAll("form.sp-form, form.sp-ship");
  for (var k = 0; k < posts.length; k++) {
    posts[k].addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      var submit = this.querySelector("button[type=submit]");
      if (submit) window.setTimeout(function () { submit.disabled = true; }, 0);
    });
  }

  var cutoff = document.querySelector(".sp-cutoff");
  if (!cutoff) return;
  var out = cutoff.querySelector(".sp-countdown");
  var at = Date.parse(cutoff.getAttribute("data-cutoff-at"));
  var skew = (Date.parse(cutoff.getAttribute("data-server-now")) || Date.now()) - Date.now();
  var DAY = 24 * 3600 * 1000;
  var NEAR = 3600 * 1000;

  function tick() {
    var left = at - (Date.now() + skew);
    var passed = left <= 0;
    if (passed) {
      left += Math.ceil(-left / DAY) * DAY;
      if (left === 0) left = DAY;
    }
    var h = Math.floor(left / 3600000);
    var m = Math.floor((left % 3600000) / 60000);
    var s = Math.floor((left % 60000) / 1000);
    var text;
    if (passed) text = fill(cutoff.getAttribute("data-tpl-passed"), { h: h, m: m });
    else if (left < NEAR) text = fill(cutoff.getAttribute("data-tpl-left-ms"), { m: m, s: s });
    else text = fill(cutoff.getAttribute("data-tpl-left-hm"), { h: h, m: m });
    if (out.textContent !== text) out.textContent = text;
    out.classList.toggle("is-near", !passed && left < NEAR);
    out.classList.toggle("is-passed", passed);
  }
  if (at && out) {
    tick();
    window.setInterval(tick, 1000);
  }
})();
