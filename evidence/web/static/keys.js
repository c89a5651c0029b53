// Keyboard shortcuts for the workbench (the pages work without them):
// a accepts the current link, r moves to its exclusion-reason list (then Enter on Reject),
// n goes to the next link on the page, or to the next link awaiting you elsewhere.
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll("section.card"));
  var index = 0;
  var fromHash = cards.findIndex(function (c) { return "#" + c.id === location.hash; });
  if (fromHash >= 0) { index = fromHash; }
  function mark() {
    cards.forEach(function (c, i) { c.classList.toggle("current", i === index); });
    if (cards[index]) { cards[index].scrollIntoView({block: "nearest"}); }
  }
  mark();
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "SELECT" ||
                            target.tagName === "TEXTAREA");
    if (typing || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var card = cards[index];
    if (event.key === "a" && card) {
      event.preventDefault();
      card.querySelector('button[value="accept"]').click();
    } else if (event.key === "r" && card) {
      event.preventDefault();
      card.querySelector('select[name="reason"]').focus();
    } else if (event.key === "n") {
      event.preventDefault();
      if (index + 1 < cards.length) { index += 1; mark(); } else { location.href = "/next"; }
    }
  });
})();
