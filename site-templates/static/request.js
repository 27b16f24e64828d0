// Fills the "related policy" field from ?policy=<slug> when the form is opened from a policy page.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var policy = params.get("policy");
  var field = document.getElementById("policy");
  if (policy && field && !field.value) {
    field.value = policy.slice(0, 100);
  }
})();
