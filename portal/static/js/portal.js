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
