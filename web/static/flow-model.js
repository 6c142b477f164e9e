// callbox flow editor, part 1: the graph as data.  Pure functions over the same JSON the
// server stores (appliance/ivr/flow.py); which fields are branches comes from the schema
// the server derives from NODE_TYPES, so nothing here knows a node type by name.
(function () {
  "use strict";

  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  function isGraph(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value) &&
      value.nodes !== null && typeof value.nodes === "object" && !Array.isArray(value.nodes);
  }

  function choiceKeys(node, keyOrder) {
    var choices = node.choices;
    if (!choices || typeof choices !== "object" || Array.isArray(choices)) { return []; }
    return Object.keys(choices).sort(function (a, b) {
      var ia = keyOrder.indexOf(a), ib = keyOrder.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
  }

  function choiceTarget(choice) {
    if (typeof choice === "string") { return choice; }
    return choice && typeof choice.next === "string" ? choice.next : "";
  }

  // Every way out of a node, in the order the tree shows them: menu choices first, then
  // the type's target fields.  {field, key?, label?, target, required, implicit?}
  function branches(graph, schema, id) {
    var node = graph.nodes[id], kind = node && schema.types[node.type];
    if (!kind) { return []; }
    var out = [];
    choiceKeys(node, schema.keys).forEach(function (key) {
      var choice = node.choices[key];
      out.push({field: "choices." + key, key: key, target: choiceTarget(choice),
                label: (choice && typeof choice === "object" && choice.label) || "",
                required: true});
    });
    kind.targets.forEach(function (field) {
      var target = typeof node[field] === "string" ? node[field] : "";
      if (field === "operator" && !target && graph.operator) {
        // "0" leads to the flow's operator when the node does not name its own
        out.push({field: field, target: graph.operator, required: false, implicit: true});
        return;
      }
      out.push({field: field, target: target, required: kind.required.indexOf(field) >= 0});
    });
    return out;
  }

  // Where a caller goes from a node, for the tree walk (branch order, targets that exist).
  function walk(graph, schema) {
    var order = [], seen = {};
    function visit(id) {
      if (seen[id] || !graph.nodes[id]) { return; }
      seen[id] = true;
      order.push(id);
      branches(graph, schema, id).forEach(function (b) { visit(b.target); });
    }
    visit(graph.start);
    var reached = order.slice();
    Object.keys(graph.nodes).forEach(function (id) { visit(id); });
    return {reached: reached, unreached: order.slice(reached.length)};
  }

  function setBranch(graph, id, field, target) {
    var node = graph.nodes[id];
    if (field.indexOf("choices.") === 0) {
      var key = field.slice(8);
      node.choices = node.choices || {};
      var choice = node.choices[key];
      if (!choice || typeof choice !== "object") { choice = {label: "", next: ""}; }
      choice.next = target;
      node.choices[key] = choice;
    } else {
      node[field] = target;
    }
  }

  function freeId(graph, base) {
    base = String(base || "node").replace(/[^A-Za-z0-9_-]/g, "") || "node";
    if (!graph.nodes[base]) { return base; }
    for (var n = 2; ; n += 1) {
      if (!graph.nodes[base + n]) { return base + n; }
    }
  }

  function addNode(graph, schema, type) {
    var id = freeId(graph, type);
    graph.nodes[id] = copy(schema.types[type].defaults);
    return id;
  }

  // Turn a node into another type in place: branches and the fields the new type also
  // has are kept (a play that should have been a menu keeps its words), the rest dropped.
  function changeType(graph, schema, id, type) {
    var old = graph.nodes[id], kind = schema.types[type], node = copy(kind.defaults);
    kind.fields.forEach(function (f) {
      var names = f.control === "say" ? [f.name + "prompt", f.name + "text"] : [f.name];
      names.forEach(function (name) {
        if (old[name] !== undefined && old[name] !== "") { node[name] = old[name]; }
      });
    });
    kind.targets.forEach(function (name) {
      if (typeof old[name] === "string" && old[name]) { node[name] = old[name]; }
    });
    graph.nodes[id] = node;
  }

  // Point every reference to `from` at `to` ("" empties it): branches, start, operator.
  function retarget(graph, schema, from, to) {
    Object.keys(graph.nodes).forEach(function (id) {
      var node = graph.nodes[id], kind = schema.types[node.type];
      if (kind) {
        kind.targets.forEach(function (field) {
          if (node[field] === from) { node[field] = to; }
        });
      }
      choiceKeys(node, schema.keys).forEach(function (key) {
        var choice = node.choices[key];
        if (choiceTarget(choice) === from) {
          node.choices[key] = typeof choice === "object" ? choice : {};
          node.choices[key].next = to;
        }
      });
    });
    if (graph.start === from) { graph.start = to; }
    if (graph.operator === from) { graph.operator = to; }
  }

  // Delete a node: the branches that led to it become empty, and the validator says so.
  function deleteNode(graph, schema, id) {
    delete graph.nodes[id];
    retarget(graph, schema, id, "");
  }

  var ID = /^[^\s"'<>&\\/]{1,40}$/;

  // Rename a node everywhere; returns "" or the reason it cannot ("bad_id", "taken").
  function renameNode(graph, schema, from, to) {
    if (to === from) { return ""; }
    if (!ID.test(to)) { return "bad_id"; }
    if (graph.nodes[to]) { return "taken"; }
    var nodes = {};
    Object.keys(graph.nodes).forEach(function (id) {
      nodes[id === from ? to : id] = graph.nodes[id];
    });
    graph.nodes = nodes;
    retarget(graph, schema, from, to);
    return "";
  }

  function freeKey(node, schema) {
    var used = node.choices || {};
    for (var i = 0; i < schema.keys.length; i += 1) {
      if (!Object.prototype.hasOwnProperty.call(used, schema.keys[i])) {
        return schema.keys[i];
      }
    }
    return "";
  }

  // Messages from the server grouped by node id; "" holds the flow-wide ones and those
  // about nodes the page no longer has.
  function byNode(graph, messages) {
    var out = {"": []};
    (messages || []).forEach(function (m) {
      var id = m.node !== null && graph.nodes[m.node] ? m.node : "";
      (out[id] = out[id] || []).push(m);
    });
    return out;
  }

  window.CallboxFlow = window.CallboxFlow || {};
  window.CallboxFlow.model = {
    copy: copy, isGraph: isGraph, branches: branches, walk: walk, setBranch: setBranch,
    addNode: addNode, changeType: changeType, deleteNode: deleteNode, renameNode: renameNode, freeKey: freeKey,
    choiceKeys: choiceKeys, choiceTarget: choiceTarget, byNode: byNode, freeId: freeId
  };
})();
