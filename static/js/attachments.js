/* The attachments page of a dossier: a file over the size limit is named under its field as soon as it
   is chosen, and the form is not sent (progressive enhancement: without this file the server refuses
   it with the same message, or answers a body over its limit with the "file too large" page). */
(function () {
  "use strict";

  function errorFor(input) {
    var id = input.id + "-size-error";
    var message = document.getElementById(id);
    if (!message) {
      message = document.createElement("p");
      message.className = "error";
      message.id = id;
      input.parentNode.appendChild(message);
    }
    return message;
  }

  function check(input) {
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    var tooLarge = Array.prototype.filter.call(input.files || [], function (file) {
      return file.size > limit;
    });
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== input.id + "-size-error";
    });
    if (tooLarge.length) {
      var message = errorFor(input);
      message.textContent = tooLarge.map(function (file) { return file.name; }).join(", ") + " : " +
        input.getAttribute("data-too-large");
      described.push(message.id);
      input.setAttribute("aria-invalid", "true");
    } else {
      var previous = document.getElementById(input.id + "-size-error");
      if (previous) {
        previous.parentNode.removeChild(previous);
      }
      if (!input.parentNode.querySelector(".error")) {
        input.removeAttribute("aria-invalid");
      }
    }
    input.setAttribute("aria-describedby", described.join(" "));
    return tooLarge.length === 0;
  }

  var form = document.getElementById("pieces-upload");
  if (!form) {
    return;
  }
  var inputs = document.querySelectorAll('input[type="file"][form="pieces-upload"][data-max-bytes]');
  Array.prototype.forEach.call(inputs, function (input) {
    input.addEventListener("change", function () { check(input); });
  });
  form.addEventListener("submit", function (event) {
    var first = null;
    Array.prototype.forEach.call(inputs, function (input) {
      if (!check(input) && !first) {
        first = input;
      }
    });
    if (first) {
      event.preventDefault();
      first.focus();
    }
  });
})();
