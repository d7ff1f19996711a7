// An evidence pack being rendered: poll its progress and reload the page once it is ready or has failed.
// The progress URL comes from the element's data-progress-url (no inline script: the Content Security Policy
// allows scripts from the portal's own static files only).
(function () {
  "use strict";
  const status = document.getElementById("evidence-pack-status");
  if (!status || !status.dataset.progressUrl) {
    return;
  }
  const url = status.dataset.progressUrl;
  function poll() {
    fetch(url, {credentials: "same-origin"}).then((response) => response.json()).then((state) => {
      document.getElementById("evidence-progress").value = state.progress;
      document.getElementById("evidence-status").textContent = state.status + " (" + state.progress + "%)";
      if (state.status === "ready" || state.status === "failed") {
        window.location.reload();
      } else {
        window.setTimeout(poll, 1500);
      }
    });
  }
  window.setTimeout(poll, 1500);
})();
