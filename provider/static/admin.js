// Progressive enhancement for the admin: a "Copy" button next to a newly shown
// client secret. Without JavaScript the secret is still selectable text.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy"));
  if (!field) { return; }
  var status = button.parentNode.querySelector(".copied");
  button.hidden = false;
  button.addEventListener("click", function () {
    var done = function () { if (status) { status.textContent = "Copied."; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        field.select();
      });
    } else {
      field.select();
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selected: copy by hand */ }
    }
  });
});
