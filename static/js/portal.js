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
// Autosave status where the eye is (issue 18, part 4). The criterion's live region (.autosave-live,
// visually hidden) is what htmx fills and screen readers hear; the visible copy (.autosave-status,
// aria-hidden, so nothing is heard twice) moves beside the field last edited.
(function () {
  "use strict";
  var lastField = new WeakMap();
  function remember(event) {
    var field = event.target.closest && event.target.closest(".criterion-fields [data-autosave-field]");
    if (field) { lastField.set(field.closest(".criterion"), field); }
  }
  document.addEventListener("input", remember);
  document.addEventListener("change", remember);
  // "Not saved: ..." comes back as 422, which htmx does not swap by default.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 422 && event.detail.target.classList.contains("autosave-live")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var live = event.detail.target;
    if (!live.classList.contains("autosave-live")) { return; }
    var section = live.closest(".criterion");
    var shown = section && section.querySelector(".autosave-status");
    if (!shown) { return; }
    var field = lastField.get(section);
    if (field && shown.parentNode !== field) { field.appendChild(shown); }
    shown.innerHTML = live.innerHTML;
  });
})();

// Part 3: conditional reveal on radios (the GOV.UK pattern). A radio with data-aria-controls shows the
// box it names only while it is chosen. Without JavaScript every box stays visible and usable.
(function () {
  var SELECTOR = 'input[type="radio"][aria-controls]';
  function sync(input) {
    var target = document.getElementById(input.getAttribute("aria-controls"));
    if (target) { target.hidden = !input.checked; }
  }
  function syncAll() {
    document.querySelectorAll(SELECTOR).forEach(sync);
  }
  function init() {
    document.querySelectorAll('input[type="radio"][data-aria-controls]').forEach(function (input) {
      var id = input.getAttribute("data-aria-controls");
      if (!document.getElementById(id)) { return; }
      input.setAttribute("aria-controls", id);
      input.removeAttribute("data-aria-controls");
    });
    syncAll();
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "radio") { return; }
    // Choosing one radio unchooses the others of its group: every box of the group follows.
    var scope = input.form || document;
    scope.querySelectorAll(SELECTOR).forEach(function (other) {
      if (other.name === input.name) { sync(other); }
    });
  });
  // A page restored from the back-forward cache keeps the radios' state: the boxes follow it.
  window.addEventListener("pageshow", syncAll);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
