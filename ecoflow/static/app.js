// Countdowns to each deadline on the page (data-due: an ISO time), refreshed every 30 s.
(function () {
  function text(ms) {
    var late = ms < 0, m = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), min = m % 60;
    var s = (d ? d + "天" : "") + (d || h ? h + "小时" : "") + min + "分";
    return late ? "已超期" + s : "剩余" + s;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var ms = Date.parse(el.dataset.due) - now;
      el.textContent = text(ms);
      if (ms < 0) el.closest(".clock").classList.add("overdue");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
})();
