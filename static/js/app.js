/* Progressive enhancement only: every page works without this file.
   - [data-autofocus]: moves focus to the error summary of a form that came back with errors, so
     screen-reader and keyboard users land on the list of what to fix.
   - [data-confirm="Question ?"] on a <form> (or on a submit button): asks before submitting an
     irreversible action (withdraw, award, delete).
   - .table-wrap: a table wider than the screen scrolls sideways; the scrolling region is made
     reachable with the keyboard (and named after the table's caption).
   - [data-menu-toggle]: the header's menu button on phones (a disclosure: aria-expanded on the
     button, the menu named by aria-controls); Escape closes it and gives the focus back. Without
     this file the button stays hidden and the menu stays open.
   - [data-print]: a button that opens the browser's print dialog (hidden without this file: the
     browser's own Print command does the same).
   No inline script anywhere: the Content-Security-Policy only allows this file. */
(function () {
  "use strict";

  function focusErrorSummary() {
    var target = document.querySelector("[data-autofocus]");
    if (!target) {
      return;
    }
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
    if (typeof target.scrollIntoView === "function") {
      target.scrollIntoView({ block: "start" });
    }
  }

  function confirmBeforeSubmit(event) {
    var form = event.target;
    var submitter = event.submitter || null;
    var message =
      (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }

  function confirmLinks(event) {
    var link = event.target.closest && event.target.closest("a[data-confirm]");
    if (link && !window.confirm(link.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  }

  function makeScrollableTablesFocusable() {
    var wraps = document.querySelectorAll(".table-wrap");
    Array.prototype.forEach.call(wraps, function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        var caption = wrap.querySelector("caption");
        if (caption && !wrap.hasAttribute("aria-label")) {
          wrap.setAttribute("aria-label", caption.textContent.trim());
        }
      }
    });
  }

  function setUpMenuButton() {
    var button = document.querySelector("[data-menu-toggle]");
    var menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) {
      return;
    }
    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    setOpen(false);
    button.hidden = false;
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true"
          && button.offsetParent !== null) {
        setOpen(false);
        button.focus();
      }
    });
  }

  function setUpPrintButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function onReady() {
    setUpMenuButton();
    setUpPrintButtons();
    focusErrorSummary();
    makeScrollableTablesFocusable();
  }

  document.addEventListener("submit", confirmBeforeSubmit);
  document.addEventListener("click", confirmLinks);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onReady);
  } else {
    onReady();
  }
})();
