// Results as the user types: debounced calls to the search API; the page also works without JavaScript
// (the form submits to the server-rendered search page).
(function () {
  "use strict";
  var input = document.getElementById("search-q");
  var list = document.getElementById("search-results");
  var status = document.getElementById("search-status");
  if (!input || !list || !status) { return; }
  var api = input.getAttribute("data-search-api");
  var timer = null;
  var latest = 0;
  var labels = { valid: "现行有效", expiring: "即将到期", expired: "已失效" };

  function text(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content) { node.textContent = content; }
    return node;
  }

  // Snippets come from the server with matched terms in <mark>; rebuild them from text so nothing else is trusted.
  function snippet(html) {
    var p = text("p", "snippet");
    var parts = String(html).split(/(<mark>|<\/mark>)/);
    var marked = false;
    var decoder = document.createElement("textarea");
    parts.forEach(function (part) {
      if (part === "<mark>") { marked = true; return; }
      if (part === "</mark>") { marked = false; return; }
      decoder.innerHTML = part;
      var value = decoder.value;
      p.appendChild(marked ? text("mark", "", value) : document.createTextNode(value));
    });
    return p;
  }

  function show(data) {
    list.textContent = "";
    if (!data.hits || data.hits.length === 0) {
      status.textContent = "没有找到相关政策。可以换个说法，或提交咨询。";
      return;
    }
    status.textContent = "找到 " + data.hits.length + " 条相关结果";
    data.hits.forEach(function (hit) {
      var li = text("li", "policy-card");
      var h = text("h2", "policy-card-title");
      var a = text("a", "", hit.title);
      a.href = hit.url;
      h.appendChild(a);
      if (hit.section) { h.appendChild(text("span", "hit-section", " › " + hit.section)); }
      li.appendChild(h);
      var meta = text("p", "policy-card-meta");
      meta.appendChild(text("span", "badge badge-" + hit.status, labels[hit.status] || ""));
      meta.appendChild(document.createTextNode(" " + (hit.doc_number || "") + " " + (hit.issuer || "")));
      li.appendChild(meta);
      li.appendChild(snippet(hit.snippet || ""));
      list.appendChild(li);
    });
  }

  function search() {
    var q = input.value.trim();
    if (!q) { list.textContent = ""; status.textContent = ""; return; }
    var ticket = ++latest;
    fetch(api + "?limit=10&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) { if (ticket === latest) { show(data); } })
      .catch(function () {
        if (ticket === latest) { status.textContent = "搜索服务暂不可用，请按“搜索”按钮重试，或按分类浏览政策。"; }
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial && !input.value) { input.value = initial; }
  if (input.value && list.children.length === 0) { search(); }
})();
