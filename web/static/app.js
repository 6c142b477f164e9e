// callbox: the little script every page loads.  No build step, nothing from the internet.
// The server renders every fragment; this file only puts them in place, keeps timers
// ticking between updates, and adds the XSRF token to forms that arrive over the socket.
(function () {
  "use strict";
  var xsrf = (document.querySelector('meta[name="xsrf"]') || {}).content || "";

  function armForms(root) {
    root.querySelectorAll('form[method="post"]').forEach(function (form) {
      if (!form.querySelector('input[name="_xsrf"]')) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "_xsrf";
        input.value = xsrf;
        form.appendChild(input);
      }
    });
  }

  function stampTimers(root) {
    var now = Date.now();
    root.querySelectorAll("[data-age],[data-countdown]").forEach(function (el) {
      el.dataset.t0 = now;
    });
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-age]").forEach(function (el) {
      var elapsed = (now - Number(el.dataset.t0 || now)) / 1000;
      el.textContent = clock(Number(el.dataset.age) + elapsed);
    });
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var elapsed = (now - Number(el.dataset.t0 || now)) / 1000;
      el.textContent = clock(Number(el.dataset.countdown) - elapsed);
    });
  }

  function connect(view, operator) {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var url = proto + location.host + "/live?view=" + encodeURIComponent(view);
    if (operator) { url += "&operator=" + encodeURIComponent(operator); }
    var status = document.getElementById("live-status");
    var delay = 1000;
    function open() {
      var ws = new WebSocket(url);
      ws.onopen = function () {
        delay = 1000;
        if (status) { status.hidden = true; }
        document.body.dataset.liveReady = "1";
      };
      ws.onmessage = function (message) {
        var data = JSON.parse(message.data);
        var target = document.getElementById(data.target);
        if (!target) { return; }
        target.innerHTML = data.html;
        armForms(target);
        stampTimers(target);
        if (data.pop) {
          target.hidden = false;
          target.classList.add("pop");
          target.scrollIntoView({block: "start"});
          document.title = "\u260e " + document.title.replace(/^\u260e /, "");
        }
      };
      ws.onclose = function () {
        if (status) { status.hidden = false; }
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    open();
  }

  document.addEventListener("DOMContentLoaded", function () {
    armForms(document);
    stampTimers(document);
    setInterval(tick, 1000);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.addEventListener("submit", function (event) {
      var question = event.target.dataset.confirm;
      if (question && !window.confirm(question)) { event.preventDefault(); }
    });
    var live = document.body.dataset.live;
    if (live) { connect(live, document.body.dataset.operator || ""); }
  });
})();
