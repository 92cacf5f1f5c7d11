// ポイント数更新: show the points after the change and the negative warning while the user
// types. Only a preview: the server decides on the balance it reads under its lock.
(function () {
  if (window.portalPointsChange) { return; }
  window.portalPointsChange = true;
  function update(form) {
    var current = form.querySelector("[data-points-current]");
    var result = form.querySelector("[data-points-result]");
    var warning = form.querySelector("[data-points-negative-warning]");
    var amountInput = form.querySelector("input[name=amount]");
    var operation = form.querySelector("input[name=operation]:checked");
    if (!current || !result || !amountInput || !operation) { return; }
    var text = (amountInput.value || "").normalize("NFKC").replace(/[,_\s]/g, "");
    if (!/^\d+$/.test(text)) { result.textContent = "—"; return; }
    var amount = parseInt(text, 10);
    var value = parseInt(current.getAttribute("data-points-current"), 10) + (operation.value === "add" ? amount : -amount);
    result.textContent = String(value);
    result.classList.toggle("points-negative", value < 0);
    if (warning && value < 0) { warning.classList.remove("d-none"); }
    if (warning && value >= 0 && !warning.querySelector("input[name=confirm_negative]")) { warning.classList.add("d-none"); }
  }
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-points-change]");
    if (form) { update(form); }
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-points-change]");
    if (form) { update(form); }
  });
})();
