/* The budget page of a dossier: totals and balance recomputed as the user types (progressive
   enhancement: without this file the server computes them on every save).
   Amounts are read the French way ("1 234,50", "1234.5 €"); an unreadable amount counts as nothing
   here, and the server says what is wrong with it. */
(function () {
  "use strict";

  function parseAmount(text) {
    var cleaned = (text || "").replace(/[\s\u00a0\u202f]/g, "").replace(/€$/, "").replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(cleaned)) {
      return 0;
    }
    return Math.round(parseFloat(cleaned) * 100);
  }

  function formatCents(cents) {
    var locale = document.documentElement.lang || "fr";
    return new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" }).format(cents / 100);
  }

  function sum(form, kind) {
    var total = 0;
    var inputs = form.querySelectorAll('input[data-amount="' + kind + '"]');
    Array.prototype.forEach.call(inputs, function (input) {
      total += parseAmount(input.value);
    });
    return total;
  }

  function update(form) {
    var expenses = sum(form, "expense");
    var requested = form.querySelector("#amount_requested");
    var resources = sum(form, "resource") + (requested ? parseAmount(requested.value) : 0);
    var outputs = {
      expense: form.querySelector('[data-total="expense"]'),
      resource: form.querySelector('[data-total="resource"]')
    };
    if (outputs.expense) {
      outputs.expense.textContent = formatCents(expenses);
    }
    if (outputs.resource) {
      outputs.resource.textContent = formatCents(resources);
    }
    var balance = form.querySelector("[data-balance]");
    if (balance) {
      // An empty budget is not a balanced one.
      if (expenses === 0 && resources === 0) {
        balance.textContent = balance.getAttribute("data-empty");
      } else if (expenses === resources) {
        balance.textContent = balance.getAttribute("data-balanced");
      } else {
        balance.textContent = balance.getAttribute("data-gap") + " " + formatCents(expenses - resources);
      }
      balance.classList.toggle("budget-unbalanced", expenses !== resources);
    }
  }

  function init() {
    var forms = document.querySelectorAll("form[data-budget]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("input", function () { update(form); });
      update(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
