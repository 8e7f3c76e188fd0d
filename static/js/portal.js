// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function focusErrorSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  }
  // Links in the error summary move focus to the field, not just scroll to it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest(".error-summary a[href^='#']");
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (target) {
      event.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    }
  });
  // Ask before a destructive form is sent twice by an impatient double click.
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button[type=submit][data-prevent-double-click]");
    if (!button) { return; }
    if (button.dataset.submitted) { event.preventDefault(); return; }
    button.dataset.submitted = "1";
  });
  // Forms that autosave warn before the page is left with changes not yet saved.
  var unsaved = new Set();
  function markUnsaved(event) {
    var area = event.target.closest("[data-warn-unsaved]");
    var section = event.target.closest("[hx-post]");
    if (area && section && event.target.closest(".criterion-fields")) { unsaved.add(section); }
  }
  document.addEventListener("input", markUnsaved);
  document.addEventListener("change", markUnsaved);
  document.addEventListener("htmx:beforeRequest", function (event) {
    event.detail.elt.dataset.saving = "1";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var section = event.detail.elt;
    delete section.dataset.saving;
    if (event.detail.successful) { unsaved.delete(section); }
  });
  document.addEventListener("submit", function () { unsaved.clear(); });
  window.addEventListener("beforeunload", function (event) {
    if (unsaved.size) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  // The header's menu on narrow screens (the GOV.UK service navigation pattern): the button is
  // shown and the menu collapsed only here, so without this file every link stays in view.
  function headerMenu() {
    var button = document.querySelector(".header__menu-button[aria-controls]");
    var menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) { return; }
    var narrow = window.matchMedia("(max-width: 40.0525em)");
    var open = false;
    menu.classList.add("header__menu--toggled");
    function show() {
      button.hidden = !narrow.matches;
      menu.hidden = narrow.matches && !open;
      button.setAttribute("aria-expanded", narrow.matches && open ? "true" : "false");
    }
    button.addEventListener("click", function () {
      open = !open;
      show();
    });
    // Escape closes the open menu and puts focus back on its button.
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && narrow.matches && open) {
        open = false;
        show();
        button.focus();
      }
    });
    narrow.addEventListener("change", show);
    show();
  }
  // A wide table's "scroll sideways" hint is hidden when its table fits the screen after all.
  function tableScrollHints() {
    var wrappers = document.querySelectorAll(".table-wrapper");
    function measure() {
      Array.prototype.forEach.call(wrappers, function (wrapper) {
        wrapper.toggleAttribute("data-fits", wrapper.scrollWidth <= wrapper.clientWidth + 1);
      });
    }
    if (!wrappers.length) { return; }
    window.addEventListener("resize", measure);
    measure();
  }
  function ready() {
    headerMenu();
    tableScrollHints();
    focusErrorSummary();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
