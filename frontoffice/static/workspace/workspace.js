// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // A <select data-autosubmit> submits its form when changed (the button stays for keyboards
  // and for browsers without JavaScript).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
    }
  });

  // Escape closes the search suggestions and returns to the search box.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var suggest = document.getElementById("search-suggest");
    if (suggest && suggest.innerHTML.trim() !== "") {
      suggest.innerHTML = "";
      var box = document.getElementById("global-search-q");
      if (box) box.focus();
    }
  });
})();
