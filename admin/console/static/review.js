// The review item page: click a photo to see it at full size (click again to fit), and
// keys for the reviewer's hands: A approves, R goes to the reason (Enter then rejects, and
// an R with a reason already typed rejects), J opens the next item. No key acts while the
// focus is in a field, nor with Ctrl, Alt or Meta held (the browser's own shortcuts).
(function () {
  "use strict";
  document.querySelectorAll("img.zoomable").forEach(function (image) {
    image.addEventListener("click", function () {
      var zoomed = image.classList.toggle("zoomed");
      image.closest(".zoom-frame").classList.toggle("zoomed", zoomed);
    });
  });

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    if (typing(event.target)) {
      return;
    }
    var key = (event.key || "").toLowerCase();
    if (key === "a") {
      var approve = document.getElementById("approve");
      if (approve && !approve.disabled) {
        event.preventDefault();
        approve.form.requestSubmit(approve);
      }
    } else if (key === "r") {
      var reason = document.getElementById("reason");
      var reject = document.getElementById("reject");
      if (reason && reject) {
        event.preventDefault();
        if (reason.value.trim()) {
          reject.form.requestSubmit(reject);
        } else {
          reason.focus();
        }
      }
    } else if (key === "j") {
      var next = document.getElementById("next-item");
      if (next) {
        event.preventDefault();
        window.location.assign(next.href);
      }
    }
  });
})();
