// The book's search ranks its chapters first: a reader searching a word of a chapter wants the chapter, not an API
// page or an example that mentions the word in passing. Sphinx's default weights otherwise.
var Scorer = {
  score: (result) => {
    const [docname, title, anchor, descr, score, filename, kind] = result;
    if (docname.startsWith("chapters/")) return score + 30;
    if (docname.startsWith("generated/") || docname.startsWith("auto_gallery/")) return score - 5;
    return score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
