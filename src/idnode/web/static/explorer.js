// The API explorer: reads /openapi.json and lists every operation, with a "try it" form for
// GET endpoints. Same-origin only (the page's CSP allows nothing else); every piece of the
// description is inserted as text, never as HTML.
"use strict";

(function () {
  var METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  // Resolve a local "$ref" such as "#/components/parameters/handle"; other refs stay as is.
  function deref(spec, obj) {
    var seen = 0;
    while (obj && typeof obj.$ref === "string" && obj.$ref.indexOf("#/") === 0 && seen < 16) {
      var target = spec;
      obj.$ref.slice(2).split("/").forEach(function (part) {
        part = part.replace(/~1/g, "/").replace(/~0/g, "~");
        target = target && typeof target === "object" ? target[part] : undefined;
      });
      if (!target) break;
      obj = target;
      seen += 1;
    }
    return obj;
  }

  function parameters(spec, pathItem, op) {
    var byKey = {};
    var order = [];
    [pathItem.parameters || [], op.parameters || []].forEach(function (list) {
      list.forEach(function (raw) {
        var p = deref(spec, raw);
        if (!p || !p.name) return;
        var key = (p.in || "query") + ":" + p.name;
        if (!(key in byKey)) order.push(key);
        byKey[key] = p;
      });
    });
    return order.map(function (key) { return byKey[key]; });
  }

  function schemaText(spec, schema) {
    schema = deref(spec, schema || {});
    if (!schema) return "";
    if (schema.type === "array") return "array of " + schemaText(spec, schema.items);
    if (schema.enum) return (schema.type || "") + " (" + schema.enum.join(", ") + ")";
    return schema.type || (schema.$ref ? schema.$ref.split("/").pop() : "");
  }

  function paramTable(spec, params) {
    if (!params.length) return el("p", { className: "muted", text: "No parameters." });
    var rows = params.map(function (p) {
      return el("tr", {}, [
        el("td", {}, [el("code", { text: p.name })]),
        el("td", { text: p.in || "query" }),
        el("td", { text: p.required ? "yes" : "" }),
        el("td", { text: schemaText(spec, p.schema) }),
        el("td", { text: p.description || "" })
      ]);
    });
    return el("table", {}, [
      el("thead", {}, [el("tr", {}, ["Name", "In", "Required", "Type", "Description"].map(
        function (h) { return el("th", { text: h }); }))]),
      el("tbody", {}, rows)
    ]);
  }

  function responsesList(spec, responses) {
    var codes = Object.keys(responses || {});
    if (!codes.length) return null;
    return el("ul", {}, codes.map(function (code) {
      var r = deref(spec, responses[code]) || {};
      return el("li", {}, [el("code", { text: code }), " " + (r.description || "")]);
    }));
  }

  // Path parameters keep "/" (handles contain one); everything else is encoded.
  function encodePathValue(value) {
    return encodeURIComponent(value).replace(/%2F/gi, "/");
  }

  function buildUrl(path, params, form) {
    var query = [];
    var url = path.replace(/\{([^}]+)\}/g, function (whole, name) {
      var input = form.elements.namedItem("path:" + name);
      return input ? encodePathValue(input.value) : whole;
    });
    params.forEach(function (p) {
      if (p.in !== "query") return;
      var input = form.elements.namedItem("query:" + p.name);
      if (!input || input.value === "") return;
      var isArray = (p.schema && p.schema.type === "array");
      var values = isArray ? input.value.split(",") : [input.value];
      values.forEach(function (v) {
        query.push(encodeURIComponent(p.name) + "=" + encodeURIComponent(v.trim()));
      });
    });
    return url + (query.length ? "?" + query.join("&") : "");
  }

  function showResult(out, url, response, text) {
    out.textContent = "";
    out.appendChild(el("p", { className: "status" }, [
      "GET ", el("code", { text: url }), " → " + response.status + " " + response.statusText
    ]));
    var pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch (e) {
      // not JSON: shown as received
    }
    out.appendChild(el("pre", { text: pretty }));
  }

  function tryForm(path, params) {
    var usable = params.filter(function (p) { return p.in === "path" || p.in === "query"; });
    var fields = usable.map(function (p) {
      var attrs = { name: p.in + ":" + p.name, type: "text", className: "mono",
                    autocomplete: "off", spellcheck: "false" };
      if (p.required || p.in === "path") attrs.required = "required";
      if (p.example !== undefined) attrs.placeholder = String(p.example);
      var hint = p.in + (p.schema && p.schema.type === "array" ? ", comma-separated" : "");
      return el("label", {}, [el("span", {}, [el("code", { text: p.name }), " (" + hint + ")"]),
                              el("input", attrs)]);
    });
    var button = el("button", { type: "submit", text: "Try it (试用)" });
    var form = el("form", { className: "try" }, fields.concat([button]));
    var out = el("div", { "aria-live": "polite" });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = buildUrl(path, usable, form);
      out.textContent = "Loading…";
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.text().then(function (text) { showResult(out, url, response, text); });
        })
        .catch(function (err) { out.textContent = "Request failed: " + err; });
    });
    return el("div", {}, [form, out]);
  }

  function operation(spec, path, method, pathItem, op) {
    var params = parameters(spec, pathItem, op);
    var body = el("div", { className: "op-body" }, [
      op.description ? el("p", { text: op.description }) : null,
      el("h3", { text: "Parameters" }),
      paramTable(spec, params),
      op.requestBody ? el("p", { className: "muted", text: "Request body: " +
        Object.keys((deref(spec, op.requestBody) || {}).content || {}).join(", ") }) : null,
      op.responses ? el("h3", { text: "Responses" }) : null,
      responsesList(spec, op.responses),
      method === "get" ? tryForm(path, params)
        : el("p", { className: "muted", text: "Try it is offered for GET endpoints only." })
    ]);
    var summary = el("summary", {}, [
      el("span", { className: "method m-" + method, text: method }),
      el("span", { className: "path", text: path }),
      el("span", { className: "muted", text: op.summary || "" })
    ]);
    return el("details", { className: "op" }, [summary, body]);
  }

  function render(spec) {
    var info = spec.info || {};
    var infoNode = document.getElementById("info");
    infoNode.textContent = "";
    infoNode.appendChild(document.createTextNode(
      (info.title || "API") + (info.version ? " " + info.version : "") + " — "));
    infoNode.appendChild(el("a", { href: "/openapi.json", text: "openapi.json" }));
    if (info.description) {
      infoNode.parentNode.insertBefore(el("p", { text: info.description }), infoNode.nextSibling);
    }
    var container = document.getElementById("operations");
    var paths = spec.paths || {};
    Object.keys(paths).forEach(function (path) {
      var item = deref(spec, paths[path]) || {};
      METHODS.forEach(function (method) {
        if (item[method]) container.appendChild(operation(spec, path, method, item, item[method]));
      });
    });
    if (!container.childNodes.length) {
      container.appendChild(el("p", { className: "muted", text: "The description lists no paths." }));
    }
  }

  function fail(message) {
    var node = document.getElementById("error");
    node.textContent = message;
    node.hidden = false;
    document.getElementById("info").textContent = "";
  }

  fetch("/openapi.json", { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error("/openapi.json answered " + response.status);
      return response.json();
    })
    .then(render)
    .catch(function (err) { fail("Could not load the API description: " + err.message); });
})();
