// Progressive enhancements of console pages; every page works without them.
// - form[data-confirm]: asks before a POST that cannot be taken back (publish, end, rotate).
// - [data-live="<url>"]: refreshes a panel from <url> every 30 s (a campaign's progress).
// - form[method=post]: its buttons are disabled once it is sent, sparing a second request
//   (the server acts once on a form whatever is sent again), and enabled again when the
//   page comes back from the browser's history.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return;
      }
      // After this turn: the button that sent the form still sends its name and value.
      window.setTimeout(function () {
        form.querySelectorAll("button").forEach(function (button) {
          button.disabled = true;
          button.setAttribute("data-sent", "");
        });
      }, 0);
    });
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[data-sent]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-sent");
    });
  });
  document.querySelectorAll("[data-live]").forEach(function (panel) {
    var url = panel.getAttribute("data-live");
    window.setInterval(function () {
      if (document.hidden) {
        return;
      }
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          // A redirect means the session ended: keep the figures rather than show a login page.
          return response.ok && !response.redirected ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null) {
            panel.innerHTML = html;
          }
        })
        .catch(function () {});
    }, 30000);
  });
})();
