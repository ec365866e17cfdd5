// Countdowns to each deadline on the page (data-due: an ISO time), refreshed every 30 s. The words
// come from the message catalogue, through the data-* attributes of <html>.
(function () {
  var words = document.documentElement.dataset;
  function put(template, key, value) { return template.replace("{" + key + "}", value); }
  function text(ms) {
    var m = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), parts = [];
    if (d) parts.push(put(words.days, "n", d));
    if (d || h) parts.push(put(words.hours, "n", h));
    parts.push(put(words.minutes, "n", m % 60));
    return put(ms < 0 ? words.late : words.left, "time", parts.join(""));
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var ms = Date.parse(el.dataset.due) - now;
      el.textContent = text(ms);
      if (ms < 0) el.closest(".clock").classList.add("overdue");
    });
  }
  // On a phone the long parts of a case page (its history) start folded: what to do comes first.
  function fold() {
    if (window.matchMedia("(max-width: 800px)").matches) {
      document.querySelectorAll("details.fold[open]").forEach(function (el) { el.open = false; });
    }
  }
  // Printed, everything shows.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.fold").forEach(function (el) { el.open = true; });
  });
  document.addEventListener("DOMContentLoaded", function () { fold(); tick(); setInterval(tick, 30000); });
})();
