// Popups: htmx loads a fragment into #portal-modal-content; show the dialog when it arrives and
// hide it when the server answers with the "portal:close-modal" trigger.
document.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("portal-modal");
  if (!element || !window.bootstrap) { return; }
  var modal = bootstrap.Modal.getOrCreateInstance(element);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "portal-modal-content") { modal.show(); }
  });
  document.body.addEventListener("portal:close-modal", function () { modal.hide(); });
  // A refused request (400) answers with a popup saying why (templates/400.html): htmx swaps no
  // error response by itself, so let this one into the popup like any other.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400 && event.detail.target && event.detail.target.id === "portal-modal-content") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  element.addEventListener("hidden.bs.modal", function () {
    document.getElementById("portal-modal-content").innerHTML = "";
  });
});
