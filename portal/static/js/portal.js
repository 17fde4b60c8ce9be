// Progressive enhancement only: every page works without this file.
document.addEventListener("htmx:afterSettle", function (event) {
  // After a boosted navigation, move focus to the new main content for screen-reader users.
  if (event.detail.boosted) {
    var main = document.getElementById("main");
    if (main) { main.focus({ preventScroll: true }); }
  }
});
