// The survey code arrives in the address's fragment (/s/#CODE, from a QR code or an email link), which
// browsers never send to a server: this fills it into the code box and clears it from the address bar.
// Without this file, people type the code printed under the QR code.
(function () {
  "use strict";
  var code = decodeURIComponent(window.location.hash.slice(1));
  if (!code) { return; }
  var box = document.getElementById("id_code");
  if (box && !box.value) { box.value = code; }
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
}());
