// Search an edition as Firefox's viewer does: PDF.js's own find controller, run headless.
// node scripts/pdfjs/find.mjs FILE WORD...  prints "WORD<TAB>matches" for each word.
globalThis.window = globalThis;
globalThis.requestAnimationFrame = (callback) => setTimeout(callback, 0);
globalThis.navigator ??= { userAgent: "node", platform: "", language: "en" };
globalThis.document = {
  documentElement: { style: { setProperty() {} } },
  createElement: () => ({ style: {}, getContext: () => null }),
};
const pdfjsLib = await import("pdfjs-dist/legacy/build/pdf.mjs");
globalThis.pdfjsLib = pdfjsLib;
const viewer = await import("pdfjs-dist/web/pdf_viewer.mjs");

const [file, ...words] = process.argv.slice(2);
const pdf = await pdfjsLib.getDocument({ url: file }).promise;

// One controller for each word: a controller's counts arrive page by page, and a new query on
// the same one could be answered with the last one's.
async function count(word) {
  const eventBus = new viewer.EventBus();
  const linkService = new viewer.PDFLinkService({ eventBus });
  linkService.setDocument(pdf);
  linkService.setViewer({ pagesCount: pdf.numPages, currentPageNumber: 1, pagesRotation: 0,
                          isInPresentationMode: false, scrollPageIntoView() {} });
  const finder = new viewer.PDFFindController({ linkService, eventBus });
  finder.setDocument(pdf);
  return new Promise((resolve) => {
    let timer = setTimeout(() => resolve(0), 5000);
    eventBus.on("updatefindmatchescount", ({ matchesCount }) => {
      clearTimeout(timer);
      timer = setTimeout(() => resolve(matchesCount.total), 200);
    });
    eventBus.dispatch("find", { source: null, type: "", query: word, caseSensitive: false,
                                entireWord: false, highlightAll: true, findPrevious: false,
                                matchDiacritics: false });
  });
}

// Every word at once (each has its controller): a count settles 200 ms after its last update.
const counts = await Promise.all(words.map(count));
words.forEach((word, index) => console.log(`${word}\t${counts[index]}`));
process.exit(0);
