/* The reviewer's scoring form saves itself as a draft a few seconds after each change (progressive
   enhancement: without this file, "Enregistrer le brouillon" does the same). The whole form is posted,
   CSRF token included, to the URL in its data-autosave attribute; the answer (JSON) is announced in
   the [data-autosave-status] region. A refused draft is not saved: the message says so, and the
   server shows each fault under its field on the next explicit save or check. */
(function () {
  "use strict";

  var DELAY_MS = 4000;

  function init(form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var inFlight = false;
    var again = false;

    function announce(text) {
      if (status && text) {
        status.textContent = text;
      }
    }

    function save() {
      timer = null;
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      var body = new FormData(form);
      body.set("action", "save");
      fetch(form.getAttribute("data-autosave"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      })
        .then(function (response) { return response.json(); })
        .then(function (answer) { announce(answer.message); })
        .catch(function () { /* offline or signed out: the explicit save still works */ })
        .then(function () {
          inFlight = false;
          if (again) {
            again = false;
            schedule();
          }
        });
    }

    function schedule() {
      if (timer) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(save, DELAY_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // A real submission takes over: no background save races it.
    form.addEventListener("submit", function () {
      if (timer) {
        window.clearTimeout(timer);
        timer = null;
      }
    });
  }

  function onReady() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosave]"), init);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onReady);
  } else {
    onReady();
  }
})();
