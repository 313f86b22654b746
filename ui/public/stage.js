// deskgraph: keep the conversation's current stage visible at all times.
// Every reply's author is its stage ("Intake", "Order desk", "Escalation"); Chainlit only shows the author as
// the avatar's alt text, so this script mirrors the latest stage author into a small badge in the header.
(function () {
  "use strict";
  var STAGES = ["Intake", "Order desk", "Escalation"];
  var PREFIX = "Avatar for ";

  function badge() {
    var el = document.getElementById("deskgraph-stage");
    if (!el) {
      el = document.createElement("div");
      el.id = "deskgraph-stage";
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "polite");
      el.style.cssText = "position:fixed;top:14px;left:50%;transform:translateX(-50%);z-index:50;" +
        "padding:4px 12px;border-radius:999px;font:500 13px/1.4 system-ui,sans-serif;" +
        "background:rgba(127,127,127,.18);color:inherit;pointer-events:none;display:none";
      document.body.appendChild(el);
    }
    return el;
  }

  function update() {
    var current = null;
    var imgs = document.querySelectorAll('[data-step-type="assistant_message"] img[alt^="' + PREFIX + '"]');
    for (var i = 0; i < imgs.length; i++) {
      var name = imgs[i].getAttribute("alt").slice(PREFIX.length);
      if (STAGES.indexOf(name) >= 0) current = name;
    }
    var el = badge();
    var onChat = !!document.getElementById("chat-input");
    if (current && onChat) {
      var text = "Stage: " + current;
      if (el.textContent !== text) el.textContent = text;
      el.setAttribute("data-stage", current);
      el.style.display = "block";
    } else {
      el.style.display = "none";
    }
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    setTimeout(function () { pending = false; update(); }, 100);
  }

  function start() {
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true, attributes: true,
                                                            attributeFilter: ["alt"] });
    schedule();
  }

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
