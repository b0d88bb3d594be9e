// Progressive enhancements of the app page: a copy button for the git
// remote, and live logs (new lines arrive as server-sent events and are
// added as text, never as HTML). The page works without this script.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (b) {
    if (!navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      var src = document.getElementById(b.dataset.copy);
      navigator.clipboard.writeText(src.textContent).then(function () { b.textContent = "Copied"; });
    });
  });
}());
(function () {
  "use strict";
  var pre = document.getElementById("logs");
  if (!pre || !window.EventSource) { return; }
  var live = document.getElementById("live");
  pre.scrollTop = pre.scrollHeight;
  var url = pre.dataset.stream + "?after=" + encodeURIComponent(pre.dataset.after || "0");
  var es = new EventSource(url);
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function stamp(t) {
    var d = new Date(t);
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }
  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }
  es.onopen = function () { if (live) { live.classList.add("on"); } };
  es.onerror = function () { if (live) { live.classList.remove("on"); } };
  es.onmessage = function (e) {
    var l = JSON.parse(e.data);
    var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    var div = document.createElement("div");
    div.appendChild(span("ts", stamp(l.time)));
    div.appendChild(document.createTextNode(" "));
    div.appendChild(span("proc", l.process));
    div.appendChild(document.createTextNode(" " + l.line));
    pre.appendChild(div);
    while (pre.childNodes.length > 1000) { pre.removeChild(pre.firstChild); }
    if (atBottom) { pre.scrollTop = pre.scrollHeight; }
  };
}());
