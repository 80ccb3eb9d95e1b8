// Small accessibility repairs applied to every page of the book once it has loaded.
document.addEventListener("DOMContentLoaded", () => {
  // Sphinx marks table-of-contents captions as headings without a level; screen readers need one.
  document.querySelectorAll('[role="heading"]:not([aria-level])').forEach((e) => e.setAttribute("aria-level", "2"));
  // Regions that scroll sideways (wide code and tables) must be reachable with the keyboard.
  document.querySelectorAll("pre, .table-wrapper, div.highlight").forEach((e) => {
    if (e.scrollWidth > e.clientWidth && !e.hasAttribute("tabindex")) e.setAttribute("tabindex", "0");
  });
});
