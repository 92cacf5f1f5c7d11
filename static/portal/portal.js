// Popups: htmx loads a fragment into #portal-modal-content; show the dialog when it arrives and
// hide it when the server answers with the "portal:close-modal" trigger. Focus moves to the
// popup's first field when it opens (Bootstrap keeps Tab inside and closes it on Esc) and back
// to the button that opened it when it closes.
document.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("portal-modal");
  if (!element || !window.bootstrap) { return; }
  var modal = bootstrap.Modal.getOrCreateInstance(element);
  var opener = null;
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "portal-modal-content" && !element.contains(event.detail.elt)) {
      opener = event.detail.elt;
    }
  });
  // Tab and Shift+Tab cycle within the popup, also past its last and first control (Bootstrap
  // only pulls back a focus that lands on the page, not one that leaves for the browser).
  element.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") { return; }
    var controls = Array.prototype.filter.call(
      element.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"),
      function (control) { return control.offsetParent !== null; }
    );
    if (!controls.length) { return; }
    var first = controls[0], last = controls[controls.length - 1];
    if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
    else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
  });
  var content = document.getElementById("portal-modal-content");
  var lastField = null;  // a field the user (or a test) focused while the popup was still opening
  content.addEventListener("focusin", function (event) { lastField = event.target; });
  function firstField() {
    return content.querySelector(".is-invalid") || content.querySelector(
      "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), " +
      ".modal-footer button:not([disabled])"
    );
  }
  element.addEventListener("shown.bs.modal", function () {
    // Bootstrap has just focused the dialog itself: give the focus to the field chosen meanwhile,
    // else to the first one.
    var target = lastField && content.contains(lastField) ? lastField : firstField();
    if (target) { target.focus(); }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!(event.detail.target && event.detail.target.id === "portal-modal-content")) { return; }
    if (element.classList.contains("show")) {
      // The popup answered again (a refused form): focus its first field in error.
      var target = firstField();
      if (target) { target.focus(); }
    } else {
      lastField = null;
      modal.show();
    }
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
    // The opener may have been replaced (a refreshed list row): then focus stays where it is.
    if (opener && document.body.contains(opener)) { opener.focus(); }
    opener = null;
  });
});
