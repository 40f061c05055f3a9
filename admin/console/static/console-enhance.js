// Progressive enhancements of console pages; every page works without them.
// - form[data-confirm]: asks before a POST that cannot be taken back (publish, end, rotate).
// - [data-live="<url>"]: refreshes a panel from <url> every 30 s (a campaign's progress).
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
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
