// callbox flow editor, part 3: the page.  The flow is drawn as a tree from its start
// (a node met a second time is a "go to" link, so loops show); clicking a card opens its
// form; "+" on an empty branch adds a node there.  The graph lives here as one object
// and is written into the form's JSON textarea on every change, so "Save and activate"
// posts exactly what the cards show and the server stays the only validator.  Without
// this script the page is the plain JSON form.
(function () {
  "use strict";
  var M = window.CallboxFlow.model, F = window.CallboxFlow.form, el = F.el;
  var xsrf = (document.querySelector('meta[name="xsrf"]') || {}).content || "";

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function start() {
    var data = readJson("flow-editor-data"), t = readJson("flow-editor-strings");
    var editor = document.getElementById("flow-editor");
    if (!data || !t || !editor) { return; }
    var schema = data.schema;
    var area = document.getElementById("flow-graph");
    var jsonField = document.getElementById("flow-json-field");
    var jsonNote = document.getElementById("flow-json-note");
    var toggle = document.getElementById("flow-show-json");
    var tree = document.getElementById("flow-tree"), side = document.getElementById("flow-side");
    var summary = document.getElementById("flow-summary");
    var top = document.getElementById("flow-top-messages");
    var graph = {start: "", nodes: {}}, selected = null, messages = data.messages || [];
    var stale = false;

    var panes = editor.querySelector(".flow-panes"), clear = document.getElementById("flow-clear");

    // While the textarea holds something that is not a flow, the cards step aside: an edit
    // on a card would overwrite what was typed there.
    function setBroken(broken) {
      jsonNote.hidden = !broken;
      panes.hidden = broken;
      clear.disabled = broken;
      if (broken) { toggle.checked = true; }
    }

    function parseArea() {
      try {
        var parsed = JSON.parse(area.value);
        return M.isGraph(parsed) ? parsed : null;
      } catch (e) { return null; }
    }

    graph = parseArea() || graph;
    setBroken(!parseArea());  // e.g. the server refused this JSON: fix it there

    var ctx = {
      graph: function () { return graph; }, schema: schema, data: data, t: t,
      changed: function () { changed(); },
      rename: function (from, to) {
        var problem = M.renameNode(graph, schema, from, to);
        if (!problem) {
          messages.forEach(function (m) { if (m.node === from) { m.node = to; } });
          selected = to;
          changed();
          showSide();
        }
        return problem;
      },
      retype: function (id, type) {
        M.changeType(graph, schema, id, type);
        changed();
        showSide();
      },
      remove: function (id) {
        M.deleteNode(graph, schema, id);
        selected = null;
        changed();
        showSide();
      }
    };

    function changed() {
      area.value = JSON.stringify(graph, null, 2);
      jsonNote.hidden = true;
      stale = true;
      var unsaved = document.getElementById("flow-test-unsaved");
      if (unsaved) { unsaved.hidden = false; }  // the phone would hear the saved version
      render();
    }

    // -- the tree ---------------------------------------------------------------------------
    function messageList(list, withNode) {
      var ul = el("ul", {"class": "flow-messages"});
      list.forEach(function (m) {
        var where = withNode ? (m.node === null ? t.whole_flow : m.node) + ": " : "";
        ul.appendChild(el("li", {"class": m.severity === "error" ? "bad" : "warn",
                                 "data-severity": m.severity, "data-field": m.field,
                                 text: where + t[m.severity] + ": " + m.text}));
      });
      return ul;
    }

    function addButton(from, field) {
      var button = el("button", {type: "button", "class": "flow-add", title: t.add_here,
                                 "aria-label": t.add_here, "data-from": from,
                                 "data-field": field, text: "+"});
      button.addEventListener("click", function (event) {
        event.stopPropagation();
        var types = Object.keys(schema.types).map(function (k) {
          return el("option", {value: k, text: schema.types[k].icon + " " +
                               schema.types[k].label});
        });
        var pick = el("select", {"class": "flow-new-type", "aria-label": t.new_type}, types);
        var picker = el("span", {"class": "flow-picker"}, [pick,
          el("button", {type: "button", "class": "flow-add-confirm", text: t.add,
                        on: {click: function () {
                          var id = M.addNode(graph, schema, pick.value);
                          if (field === "") { graph.start = id; }
                          else { M.setBranch(graph, from, field, id); }
                          selected = id;
                          changed();
                          showSide();
                        }}}),
          el("button", {type: "button", "class": "secondary", text: t.cancel,
                        on: {click: function () { picker.replaceWith(button); }}})]);
        button.replaceWith(picker);
        pick.focus();
      });
      return button;
    }

    function branchLabel(b) {
      if (b.key) { return b.key + (b.label ? " \u00b7 " + b.label : ""); }
      return (schema.branches[b.field] || b.field) +
        (b.implicit ? " (" + t.flow_default + ")" : "");
    }

    // "Mon 09:00-18:00 · Sat 10:00-14:00" for a card with opening hours
    function hoursText(hours) {
      if (!hours || typeof hours !== "object") { return ""; }
      var days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
      return days.map(function (day, i) {
        return Array.isArray(hours[day]) && hours[day].length
          ? t.weekdays[i] + " " + hours[day].join(", ") : "";
      }).filter(Boolean).join(" \u00b7 ");
    }

    function goto(target) {
      return el("a", {href: "#flow-node-" + encodeURIComponent(target), "class": "flow-goto",
                      "data-goto": target, text: "\u21aa " + t.goto + " " + target,
                      on: {click: function (event) {
                        event.preventDefault();
                        select(target);
                      }}});
    }

    function card(id, mine) {
      var node = graph.nodes[id], kind = schema.types[node.type];
      var say = node.text || (node.prompt ? "\u266a " + node.prompt : "");
      var detail = node.queue || node.extension || node.number || hoursText(node.hours);
      var worst = mine.some(function (m) { return m.severity === "error"; }) ? " has-error"
        : (mine.length ? " has-warning" : "");
      var box = el("div", {"class": "flow-card" + worst + (id === selected ? " selected" : ""),
                           tabindex: "0", role: "button", "data-card": id}, [
        el("div", {"class": "flow-card-head"}, [
          el("span", {"class": "flow-icon", text: kind ? kind.icon : "?"}),
          el("span", {"class": "flow-type", text: kind ? kind.label : node.type}),
          el("code", {"class": "flow-id", text: id}),
          id === graph.start ? el("span", {"class": "flow-badge", text: t.start_badge}) : null]),
        say ? el("div", {"class": "flow-say-text", text: say}) : null,
        detail ? el("div", {"class": "flow-detail", text: detail}) : null,
        mine.length ? messageList(mine, false) : null]);
      box.addEventListener("click", function () { select(id); });
      box.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(id); }
      });
      return box;
    }

    function drawNode(id, drawn, grouped) {
      drawn[id] = true;
      var mine = grouped[id] || [];
      var wrap = el("div", {"class": "flow-node", id: "flow-node-" + id, "data-node": id,
                            "data-type": graph.nodes[id].type}, [card(id, mine)]);
      var list = el("ul", {"class": "flow-branches"});
      M.branches(graph, schema, id).forEach(function (b) {
        var flagged = mine.filter(function (m) { return m.field === b.field; });
        var cls = "flow-branch" + (b.required ? "" : " optional") + (flagged.length ?
          (flagged.some(function (m) { return m.severity === "error"; }) ? " bad" : " warn")
          : "");
        var li = el("li", {"class": cls, "data-field": b.field},
                    [el("span", {"class": "flow-branch-label", text: branchLabel(b)}),
                     el("span", {"class": "flow-arrow", text: " \u2192 "})]);
        if (b.target && graph.nodes[b.target]) {
          li.appendChild(drawn[b.target] || b.implicit ? goto(b.target)
                         : drawNode(b.target, drawn, grouped));
        } else {
          li.appendChild(el("span", {"class": b.target ? "flow-empty bad" : "flow-empty",
                                     text: b.target ? b.target + " ?" : t.empty}));
          if (!b.implicit) { li.appendChild(addButton(id, b.field)); }
        }
        list.appendChild(li);
      });
      if (list.children.length) { wrap.appendChild(list); }
      return wrap;
    }

    function render() {
      var grouped = M.byNode(graph, messages), drawn = {};
      tree.textContent = "";
      var head = el("div", {"class": "flow-start"}, [el("span", {"class": "flow-branch-label",
        text: t.start}), el("span", {"class": "flow-arrow", text: " \u2192 "})]);
      tree.appendChild(head);
      if (graph.nodes[graph.start]) {
        tree.appendChild(drawNode(graph.start, drawn, grouped));
      } else {
        head.appendChild(el("span", {"class": "flow-empty", text: t.empty}));
        head.appendChild(addButton("", ""));
      }
      var rest = Object.keys(graph.nodes).filter(function (id) { return !drawn[id]; });
      if (rest.length) {
        var section = el("div", {"class": "flow-unreached", id: "flow-unreached"},
                         [el("h3", {text: t.unreached})]);
        rest.forEach(function (id) {
          if (!drawn[id]) { section.appendChild(drawNode(id, drawn, grouped)); }
        });
        tree.appendChild(section);
      }
      showMessages(grouped);
    }

    function showMessages(grouped) {
      var errors = messages.filter(function (m) { return m.severity === "error"; }).length;
      var warnings = messages.length - errors;
      var fresh = messageList(grouped[""] || [], true);
      fresh.id = "flow-top-messages";
      top.replaceWith(fresh);
      top = fresh;
      summary.textContent = "";
      summary.dataset.errors = errors;
      summary.dataset.warnings = warnings;
      if (!data.checked && !messages.length) { return; }
      var verdict = !messages.length ? ["ok", t.no_problems] : errors ? ["bad", t.has_errors]
        : ["warn", t.only_warnings];
      summary.appendChild(el("strong", {"class": verdict[0], text: verdict[1]}));
      if (messages.length) {
        summary.appendChild(el("span", {text: " " + t.summary.replace("%(errors)s", errors)
          .replace("%(warnings)s", warnings)}));
      }
      if (stale) { summary.appendChild(el("span", {"class": "muted", text: " " + t.changed})); }
    }

    // -- the side form ------------------------------------------------------------------------
    function showSide() {
      side.textContent = "";
      var form;
      if (selected === "") { form = F.settings(ctx); }
      else if (selected && graph.nodes[selected]) { form = F.build(ctx, selected); }
      else {
        side.appendChild(el("p", {"class": "muted", text: t.choose}));
        return;
      }
      side.appendChild(form);
      var mine = messages.filter(function (m) {
        return selected === "" ? m.node === null : m.node === selected;
      });
      var list = form.querySelector("#ff-messages");
      list.replaceWith(messageList(mine, false));
      mine.forEach(function (m) {
        var base = (m.field || "").split(".")[0];
        var target = base && form.querySelector('[data-field="' + base + '"]');
        if (target) { target.classList.add(m.severity === "error" ? "flow-bad" : "flow-warn"); }
      });
    }

    function select(id) {
      selected = id;
      render();
      showSide();
      var target = id && document.getElementById("flow-node-" + id);
      if (target) { target.scrollIntoView({block: "nearest"}); }
    }

    // -- talking to the server ----------------------------------------------------------------
    function post(url, body) {
      body.set("_xsrf", xsrf);
      return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                         headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); });
    }

    function check() {
      summary.textContent = t.checking;
      post(data.check_url, new URLSearchParams({graph: area.value})).then(function (answer) {
        data.checked = true;
        stale = false;
        summary.dataset.checks = Number(summary.dataset.checks || 0) + 1;
        messages = answer.messages || [];
        if (answer.errors && answer.errors.graph) {
          messages = [{node: null, severity: "error", field: "graph", code: "json",
                       text: answer.errors.graph}];
        }
        render();
        showSide();
      }).catch(function () { summary.textContent = t.unreachable; });
    }

    document.getElementById("flow-form").addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.value === "save") { return; }
      event.preventDefault();  // "Check" (or Enter in a field) asks without reloading
      check();
    });

    var testForm = document.getElementById("flow-test-form");
    if (testForm) {
      testForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var result = document.getElementById("flow-test-result");
        var extError = document.getElementById("error-extension");
        var flowError = document.getElementById("error-flow");
        post(testForm.action, new URLSearchParams(new FormData(testForm))).then(function (a) {
          var errors = a.errors || {};
          extError.textContent = errors.extension || "";
          extError.hidden = !errors.extension;
          flowError.textContent = errors.flow || "";
          flowError.hidden = !errors.flow;
          document.getElementById("flow-test-extension").classList.toggle(
            "bad", !!errors.extension);
          result.textContent = a.text || "";
          result.hidden = !a.text;
        }).catch(function () {
          flowError.textContent = t.unreachable;
          flowError.hidden = false;
        });
      });
    }

    // -- the JSON view, kept in step both ways ------------------------------------------------
    function showJson() { jsonField.hidden = !toggle.checked; }
    toggle.addEventListener("change", showJson);
    area.addEventListener("input", function () {
      var next = parseArea();
      setBroken(!next);
      if (!next) { return; }
      graph = next;
      if (selected && !graph.nodes[selected]) { selected = null; }
      render();
      showSide();
    });

    document.getElementById("flow-settings-button").addEventListener("click", function () {
      select("");
    });
    document.getElementById("flow-clear").addEventListener("click", function () {
      if (Object.keys(graph.nodes).length && !window.confirm(t.clear_confirm)) { return; }
      graph = {start: "", language: graph.language || "en", nodes: {}};
      messages = [];
      selected = null;
      changed();
      showSide();
    });

    var server = document.querySelector("[data-server-check]");
    if (server) { server.hidden = true; data.checked = true; }  // shown on the cards instead
    editor.hidden = false;
    showJson();
    render();
    showSide();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
