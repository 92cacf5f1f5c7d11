// A passkey was saved by django-otp-webauthn's registration script: go where the page says
// (the enrolment page's next step), or reload it to show the passkey in the list.
document.addEventListener("otp_webauthn.register_complete", function () {
  var holder = document.querySelector("[data-passkey-done]");
  if (holder) {
    window.location.assign(holder.getAttribute("data-passkey-done"));
  } else {
    window.location.reload();
  }
});
