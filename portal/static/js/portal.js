// Progressive enhancement only: every page works without this file.
document.addEventListener("htmx:afterSettle", function (event) {
  // After a boosted navigation, move focus to the new main content for screen-reader users.
  if (event.detail.boosted) {
    var main = document.getElementById("main");
    if (main) { main.focus({ preventScroll: true }); }
  }
});

// Polling (the notification bell) rests while the tab is hidden and catches up when it is shown again.
document.addEventListener("htmx:beforeRequest", function (event) {
  if (document.hidden && event.detail.elt.hasAttribute("data-poll")) { event.preventDefault(); }
});
document.addEventListener("visibilitychange", function () {
  if (!document.hidden && window.htmx) {
    document.querySelectorAll("[data-poll]").forEach(function (element) { window.htmx.trigger(element, "portal-refresh"); });
  }
});

// A form marked data-check-first is checked by the browser before it is sent — every required field and
// format at once, marked in place — so that a missing field costs no round trip and the chosen files stay
// chosen. The server checks everything again; without this file the form still works.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-check-first")) { return; }
  form.querySelectorAll("[data-client-error]").forEach(function (old) { old.remove(); });
  if (form.checkValidity()) { return; }
  event.preventDefault();
  var first = null;
  Array.prototype.forEach.call(form.elements, function (field) {
    if (!field.willValidate || field.validity.valid) { return; }
    var message = document.createElement("p");
    message.className = "error";
    message.id = field.id + "-client-error";
    message.setAttribute("data-client-error", "");
    message.textContent = field.validity.valueMissing && field.dataset.requiredMessage
      ? field.dataset.requiredMessage : field.validationMessage;
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", message.id);
    field.insertAdjacentElement("afterend", message);
    first = first || field;
  });
  if (first) { first.focus(); }
}, true);


// A link marked data-inline="NAME" (a queue row's "Assign…") loads its small form in its own place from the
// linked page's …/NAME, instead of opening the page; without this file it opens the page. Captured before
// htmx's boost, which would otherwise load the whole page.
document.addEventListener("click", function (event) {
  var link = event.target instanceof Element ? event.target.closest("a[data-inline]") : null;
  if (!link || !window.htmx || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
  event.preventDefault();
  event.stopPropagation();
  // Asked for by its row, not by the (boosted) link: a piece of this page, not a navigation to push.
  var row = link.closest("tr") || link.parentElement;
  window.htmx.ajax("GET", link.pathname + "/" + link.dataset.inline, { source: row, target: link, swap: "outerHTML" })
    .then(function () {
      var first = row.querySelector("[autofocus]");
      if (first) { first.focus(); }
    });
}, true);

// htmx keeps a copy of the page's markup for Back; what a person typed or chose lives in the fields'
// properties, not their markup, so Back would show a filter or search box as the server first sent it
// beside results of what was typed since. Write the fields' current state into the markup first.
document.addEventListener("htmx:beforeHistorySave", function () {
  document.querySelectorAll("input, select, textarea").forEach(function (field) {
    if (field.type === "password" || field.type === "file" || field.type === "hidden") { return; }
    if (field.type === "checkbox" || field.type === "radio") {
      field.toggleAttribute("checked", field.checked);
    } else if (field.tagName === "SELECT") {
      Array.prototype.forEach.call(field.options, function (option) { option.toggleAttribute("selected", option.selected); });
    } else if (field.tagName === "TEXTAREA") {
      field.textContent = field.value;
    } else {
      field.setAttribute("value", field.value);
    }
  });
});
