// callbox flow editor, part 2: the side form for one node, generated from the schema
// (web/handlers/flow_schema.py): one control per field, selects for queues, prompts and
// other nodes.  Every change writes into the graph at once and calls ctx.changed().
(function () {
  "use strict";
  var M = window.CallboxFlow.model;
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var DEFAULT_TRUE = {interruptible: true, intro: true};

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (k === "on") {
        Object.keys(attrs.on).forEach(function (e) { node.addEventListener(e, attrs.on[e]); });
      } else if (attrs[k] !== undefined && attrs[k] !== null) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function select(id, options, value, onChange) {
    var s = el("select", {id: id});
    options.forEach(function (o) {
      var opt = el("option", {value: o[0], text: o[1]});
      if (o[0] === value) { opt.selected = true; }
      s.appendChild(opt);
    });
    s.addEventListener("change", function () { onChange(s.value); });
    return s;
  }

  function field(label, control, help, name) {
    var id = control.id || "";
    var box = el("div", {"class": "field", "data-field": name || ""}, [
      el("label", {"for": id, text: label}), control]);
    if (help) { box.appendChild(el("div", {"class": "help", text: help})); }
    return box;
  }

  function setOrDrop(node, name, value) {
    if (value === "" || value === undefined || value === null) { delete node[name]; }
    else { node[name] = value; }
  }

  function nodeOptions(ctx, except) {
    var t = ctx.t, opts = [["", t.none]];
    Object.keys(ctx.graph().nodes).forEach(function (id) {
      if (id !== except) { opts.push([id, id]); }
    });
    return opts;
  }

  function withCurrent(options, value, suffix) {
    var known = options.some(function (o) { return o[0] === value; });
    if (value && !known) { options.push([value, value + (suffix ? " (" + suffix + ")" : "")]); }
    return options;
  }

  // -- one control per field kind ---------------------------------------------------------
  var controls = {
    say: function (ctx, node, f, fid) {
      var t = ctx.t, prefix = f.name;
      var opts = withCurrent([["", t.spoken]].concat(ctx.data.prompts.map(function (p) {
        return [p, p];
      })), node[prefix + "prompt"] || "", t.not_recorded);
      var pick = select(fid + "-prompt", opts, node[prefix + "prompt"] || "", function (v) {
        setOrDrop(node, prefix + "prompt", v);
        ctx.changed();
      });
      var area = el("textarea", {id: fid + "-text", rows: "2"});
      area.value = node[prefix + "text"] || "";
      area.addEventListener("input", function () {
        setOrDrop(node, prefix + "text", area.value);
        ctx.changed();
      });
      return el("fieldset", {"class": "flow-say", "data-field": prefix + "prompt"}, [
        el("legend", {text: f.label}),
        el("label", {"for": fid + "-prompt", text: t.prompt}), pick,
        el("label", {"for": fid + "-text", text: t.text}), area,
        f.help ? el("div", {"class": "help", text: f.help}) : null]);
    },
    text: function (ctx, node, f, fid) {
      var input = el("input", {type: "text", id: fid});
      input.value = typeof node[f.name] === "string" ? node[f.name] : "";
      input.addEventListener("input", function () {
        setOrDrop(node, f.name, input.value);
        ctx.changed();
      });
      return field(f.label, input, f.help, f.name);
    },
    int: function (ctx, node, f, fid) {
      var input = el("input", {type: "number", id: fid, min: "0", step: "1",
                               placeholder: f.placeholder || null});
      input.value = node[f.name] !== undefined ? node[f.name] : "";
      input.addEventListener("input", function () {
        setOrDrop(node, f.name, input.value === "" ? "" : Number(input.value));
        ctx.changed();
      });
      return field(f.label, input, f.help, f.name);
    },
    bool: function (ctx, node, f, fid) {
      var box = el("input", {type: "checkbox", id: fid});
      box.checked = node[f.name] !== undefined ? !!node[f.name] : !!DEFAULT_TRUE[f.name];
      box.addEventListener("change", function () {
        node[f.name] = box.checked;
        ctx.changed();
      });
      return el("div", {"class": "field", "data-field": f.name},
                [box, el("label", {"for": fid, "class": "inline", text: " " + f.label})]);
    },
    queue: function (ctx, node, f, fid) {
      var opts = withCurrent(ctx.data.queues.map(function (q) { return [q, q]; }),
                             node[f.name] || "", "?");
      if (!node[f.name]) { opts.unshift(["", ctx.t.none]); }
      return field(f.label, select(fid, opts, node[f.name] || "", function (v) {
        setOrDrop(node, f.name, v);
        ctx.changed();
      }), f.help, f.name);
    },
    check: function (ctx, node, f, fid) {
      var t = ctx.t, value = node.check || "";
      var mode = value === "luhn" ? "luhn" : (value ? "regex" : "");
      var pattern = el("input", {type: "text", id: fid + "-pattern"});
      pattern.value = mode === "regex" ? value.replace(/^regex:/, "") : "";
      var patternBox = field(t.pattern, pattern, "", "check");
      patternBox.hidden = mode !== "regex";
      function write(m) {
        patternBox.hidden = m !== "regex";
        setOrDrop(node, "check", m === "regex" ? "regex:" + pattern.value : m);
        ctx.changed();
      }
      var pick = select(fid, [["", t.check_none], ["luhn", t.check_luhn],
                              ["regex", t.check_regex]], mode, write);
      pattern.addEventListener("input", function () { write("regex"); });
      return el("div", {}, [field(f.label, pick, f.help, f.name), patternBox]);
    },
    terminator: function (ctx, node, f, fid) {
      var t = ctx.t, value = node.terminator === undefined ? "#" : node.terminator;
      return field(f.label, select(fid, [["#", t.term_hash], ["*", t.term_star],
                                         ["", t.term_none]], value, function (v) {
        node.terminator = v;
        ctx.changed();
      }), f.help, f.name);
    },
    dates: function (ctx, node, f, fid) {
      var area = el("textarea", {id: fid, rows: "3"});
      area.value = (Array.isArray(node[f.name]) ? node[f.name] : []).join("\n");
      area.addEventListener("input", function () {
        node[f.name] = area.value.split(/[\s,]+/).filter(Boolean);
        ctx.changed();
      });
      return field(f.label, area, f.help, f.name);
    }
  };
  controls.seconds = controls.int;

  // Weekday spans: one row per day, each span two HH:MM boxes ("24:00" allowed as an end).
  controls.hours = function (ctx, node, f, fid) {
    var t = ctx.t, hours = node.hours && typeof node.hours === "object" ? node.hours : {};
    var table = el("div", {"class": "flow-hours", id: fid});
    function commit() {  // only a change writes: opening the form alters nothing
      node.hours = hours;
      ctx.changed();
    }
    function redraw() {
      table.textContent = "";
      DAYS.forEach(function (day, d) {
        var spans = Array.isArray(hours[day]) ? hours[day] : [];
        var row = el("div", {"class": "flow-day", "data-day": day},
                     [el("span", {"class": "flow-dayname", text: t.weekdays[d]})]);
        spans.forEach(function (span, i) {
          var parts = String(span).split("-");
          var from = el("input", {type: "text", size: "5", "aria-label": t.weekdays[d],
                                  "class": "flow-from", placeholder: "09:00"});
          var to = el("input", {type: "text", size: "5", "aria-label": t.weekdays[d],
                                "class": "flow-to", placeholder: "18:00"});
          from.value = parts[0] || "";
          to.value = parts[1] || "";
          function write() {
            hours[day][i] = from.value.trim() + "-" + to.value.trim();
            commit();
          }
          from.addEventListener("input", write);
          to.addEventListener("input", write);
          row.appendChild(el("span", {"class": "flow-span"}, [from, el("span", {text: "–"}), to,
            el("button", {type: "button", "class": "link", title: t.remove, text: "\u2715",
                          on: {click: function () {
                            spans.splice(i, 1);
                            if (!spans.length) { delete hours[day]; }
                            commit();
                            redraw();
                          }}})]));
        });
        if (!spans.length) { row.appendChild(el("span", {"class": "muted", text: t.closed})); }
        row.appendChild(el("button", {type: "button", "class": "link flow-add-span",
                                      text: "+ " + t.add_hours, on: {click: function () {
          hours[day] = spans.concat(["09:00-18:00"]);
          commit();
          redraw();
        }}}));
        table.appendChild(row);
      });
    }
    redraw();
    return el("fieldset", {"data-field": "hours"}, [el("legend", {text: f.label}), table,
      el("div", {"class": "help", text: f.help})]);
  };

  controls.exceptions = function (ctx, node, f, fid) {
    var t = ctx.t, list = Array.isArray(node.exceptions) ? node.exceptions : [];
    var box = el("div", {id: fid});
    function redraw() {
      box.textContent = "";
      list.forEach(function (item, i) {
        var date = el("input", {type: "date", "aria-label": t.date});
        var spans = el("input", {type: "text", "aria-label": t.hours, placeholder: t.hours});
        date.value = item.date || "";
        spans.value = (item.hours || []).join(", ");
        function write() {
          list[i] = {date: date.value, hours: spans.value.split(/[\s,]+/).filter(Boolean)};
          node.exceptions = list;
          ctx.changed();
        }
        date.addEventListener("input", write);
        spans.addEventListener("input", write);
        box.appendChild(el("div", {"class": "flow-row"}, [date, spans,
          el("button", {type: "button", "class": "link", text: "\u2715", title: t.remove,
                        on: {click: function () {
                          list.splice(i, 1);
                          if (!list.length) { delete node.exceptions; }
                          ctx.changed();
                          redraw();
                        }}})]));
      });
      box.appendChild(el("button", {type: "button", "class": "link", text: "+ " + t.add_day,
                                    on: {click: function () {
        list.push({date: "", hours: []});
        node.exceptions = list;
        ctx.changed();
        redraw();
      }}}));
    }
    redraw();
    return el("fieldset", {"data-field": "exceptions"}, [el("legend", {text: f.label}), box,
      el("div", {"class": "help", text: f.help})]);
  };

  // Menu choices: a key picker (1-9 * #, never 0: the operator), a label and a target.
  controls.choices = function (ctx, node, f, fid) {
    var t = ctx.t, schema = ctx.schema, box = el("div", {id: fid, "class": "flow-choices"});
    function redraw() {
      box.textContent = "";
      M.choiceKeys(node, schema.keys).forEach(function (key) {
        var choice = node.choices[key];
        if (typeof choice !== "object" || choice === null) {
          choice = {next: M.choiceTarget(choice)};
          node.choices[key] = choice;
        }
        var keyOpts = schema.keys.filter(function (k) {
          return k === key || !Object.prototype.hasOwnProperty.call(node.choices, k);
        }).map(function (k) { return [k, k]; });
        var keyPick = select(fid + "-key-" + key, keyOpts, key, function (k) {
          var rebuilt = {};
          Object.keys(node.choices).forEach(function (old) {
            rebuilt[old === key ? k : old] = node.choices[old];
          });
          node.choices = rebuilt;
          ctx.changed();
          redraw();
        });
        keyPick.setAttribute("aria-label", t.key);
        var label = el("input", {type: "text", id: fid + "-label-" + key, size: "12",
                                 "aria-label": t.label, placeholder: t.label});
        label.value = choice.label || "";
        label.addEventListener("input", function () {
          setOrDrop(choice, "label", label.value);
          ctx.changed();
        });
        var target = select(fid + "-next-" + key, withCurrent(nodeOptions(ctx), choice.next),
                            choice.next || "", function (v) {
          choice.next = v;
          ctx.changed();
        });
        target.setAttribute("aria-label", t.goes_to);
        box.appendChild(el("div", {"class": "flow-row flow-choice", "data-key": key}, [
          keyPick, label, el("span", {text: "\u2192"}), target,
          el("button", {type: "button", "class": "link", text: "\u2715", title: t.remove,
                        on: {click: function () {
                          delete node.choices[key];
                          ctx.changed();
                          redraw();
                        }}})]));
      });
      if (M.freeKey(node, schema)) {
        box.appendChild(el("button", {type: "button", "class": "link flow-add-choice",
                                      text: "+ " + t.add_choice, on: {click: function () {
          if (!node.choices || typeof node.choices !== "object" || Array.isArray(node.choices)) {
            node.choices = {};
          }
          node.choices[M.freeKey(node, schema)] = {label: "", next: ""};
          ctx.changed();
          redraw();
        }}}));
      }
    }
    redraw();
    return el("fieldset", {"data-field": "choices"}, [el("legend", {text: f.label}), box,
      el("div", {"class": "help", text: f.help})]);
  };

  // The branch fields of the type (from NODE_TYPES): a node picker each.
  function targetControls(ctx, id, node, kind) {
    var t = ctx.t;
    if (!kind.targets.length) { return null; }
    var set = el("fieldset", {"data-field": "targets"}, [el("legend", {text: t.branches})]);
    kind.targets.forEach(function (name) {
      var opts = withCurrent(nodeOptions(ctx, id), node[name] || "");
      if (name === "operator") { opts[0] = ["", t.flow_default]; }
      var label = (ctx.schema.branches[name] || name) +
        (kind.required.indexOf(name) < 0 ? " (" + t.optional + ")" : "");
      set.appendChild(field(label, select("ff-target-" + name, opts, node[name] || "",
        function (v) {
          setOrDrop(node, name, v);
          ctx.changed();
        }), "", name));
    });
    return set;
  }

  function build(ctx, id) {
    var t = ctx.t, node = ctx.graph().nodes[id], kind = ctx.schema.types[node.type];
    var form = el("div", {"class": "flow-form", "data-node": id});
    var title = el("h3", {}, [el("span", {"class": "flow-icon", text: kind ? kind.icon : "?"}),
      document.createTextNode(" " + (kind ? kind.label : node.type))]);
    form.appendChild(title);
    var types = Object.keys(ctx.schema.types).map(function (k) {
      return [k, ctx.schema.types[k].icon + " " + ctx.schema.types[k].label];
    });
    form.appendChild(field(t.node_type, select("ff-type", withCurrent(types, node.type),
                                                node.type, function (v) { ctx.retype(id, v); })));
    var idInput = el("input", {type: "text", id: "ff-id", size: "16"});
    idInput.value = id;
    var idError = el("div", {"class": "error", id: "ff-id-error", hidden: "hidden"});
    var rename = el("button", {type: "button", "class": "secondary", id: "ff-rename",
                               text: t.rename, on: {click: function () {
      var problem = ctx.rename(id, idInput.value.trim());
      idError.textContent = problem ? t[problem] : "";
      idError.hidden = !problem;
    }}});
    form.appendChild(el("div", {"class": "field"}, [el("label", {"for": "ff-id",
      text: t.node_id}), el("div", {"class": "flow-row"}, [idInput, rename]), idError]));
    form.appendChild(el("ul", {"class": "flow-messages", id: "ff-messages"}));
    if (kind) {
      kind.fields.forEach(function (f) {
        var fid = "ff-" + (f.name || "say").replace(/_$/, "");
        form.appendChild((controls[f.control] || controls.text)(ctx, node, f, fid));
      });
      form.appendChild(targetControls(ctx, id, node, kind) || el("span"));
    }
    form.appendChild(el("p", {}, [el("button", {type: "button", "class": "danger",
      id: "ff-delete", text: t.delete, on: {click: function () { ctx.remove(id); }}})]));
    return form;
  }

  // The flow's own settings: where it starts, its language, zone and operator.
  function settings(ctx) {
    var t = ctx.t, graph = ctx.graph();
    var form = el("div", {"class": "flow-form", "data-node": ""}, [el("h3", {text: t.settings})]);
    function pick(name, label, options) {
      form.appendChild(field(label, select("fs-" + name, withCurrent(options, graph[name] || ""),
        graph[name] || "", function (v) {
          setOrDrop(graph, name, v);
          ctx.changed();
        }), "", name));
    }
    pick("start", t.start, nodeOptions(ctx));
    pick("language", t.language, [["en", "English"], ["ru", "Русский"]]);
    pick("operator", t.operator, nodeOptions(ctx));
    var zone = el("input", {type: "text", id: "fs-timezone", placeholder: "Europe/Moscow"});
    zone.value = graph.timezone || "";
    zone.addEventListener("input", function () {
      setOrDrop(graph, "timezone", zone.value.trim());
      ctx.changed();
    });
    form.appendChild(field(t.timezone, zone, "", "timezone"));
    form.appendChild(el("ul", {"class": "flow-messages", id: "ff-messages"}));
    return form;
  }

  window.CallboxFlow.form = {build: build, settings: settings, el: el};
})();
