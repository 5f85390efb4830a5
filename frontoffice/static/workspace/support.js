// The inquiry page: "Insert into the reply" copies a suggested FAQ answer or saved reply into
// the reply box (without JavaScript the text stays readable to copy by hand).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-insert-from]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-insert-from"));
    var target = document.getElementById(button.getAttribute("data-insert-into"));
    if (!source || !target) return;
    var panel = target.closest("details");
    if (panel) panel.open = true;
    var text = source.textContent.trim();
    target.value = target.value.trim() ? target.value.replace(/\s+$/, "") + "\n\n" + text : text;
    target.focus();
  });
})();
