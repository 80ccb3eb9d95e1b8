// Small accessibility repairs applied to every page of the book once it has loaded.
document.addEventListener("DOMContentLoaded", () => {
  // Sphinx marks table-of-contents captions as headings without a level; screen readers need one.
  document.querySelectorAll('[role="heading"]:not([aria-level])').forEach((e) => e.setAttribute("aria-level", "2"));
  // Regions that scroll sideways (wide code and tables) must be reachable with the keyboard.
  document.querySelectorAll("pre, .table-wrapper, div.highlight").forEach((e) => {
    if (e.scrollWidth > e.clientWidth && !e.hasAttribute("tabindex")) e.setAttribute("tabindex", "0");
  });
  // Search snippets are cut from the pages' HTML, where formulas are still TeX: read them as the plain text that
  // the build put beside each formula (class nnbook-math-text) instead. Runs before the search starts.
  if (typeof Search !== "undefined" && Search.htmlToText && !Search.nnbookPlainMath) {
    const htmlToText = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const page = new DOMParser().parseFromString(htmlString, "text/html");
      page.querySelectorAll(".math").forEach((e) => e.remove());
      return htmlToText(page.documentElement.outerHTML, anchor);
    };
    Search.nnbookPlainMath = true;
  }
});
