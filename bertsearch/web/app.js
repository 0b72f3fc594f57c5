// bertsearch's page: plain JavaScript over the server's /api, no build step, nothing fetched from elsewhere.
// Routes (all served the same HTML): "/?q=...&kind=ask|search&mode=...", "/documents/ID#passage-N",
// "/passages/N" (looks up the passage's document, then shows it). Text from the index is only ever
// inserted with textContent, never as HTML.
"use strict";

const $ = (selector) => document.querySelector(selector);
const FILTERS = ["mode", "path", "ext", "after", "before"];
const TOKEN_KEY = "bertsearch-token";
const PAGE_RERANK = 20; // the page's searches are re-ordered by the reader, as ask orders passages (docs/rerank.md)

class Unauthorized extends Error {}

async function api(path) {
  const token = localStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Unauthorized(body.error?.message || "a token is needed");
  if (!response.ok) throw new Error(body.error?.message || `the server answered ${response.status}`);
  return body;
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function setStatus(text) {
  $("#status").textContent = text;
}

function shortPath(path) {
  const parts = path.split("/");
  return parts.length > 3 ? "…/" + parts.slice(-3).join("/") : path;
}

function where(found) {
  // file:line, then the page (paged formats) and the heading path where the index knows them.
  const page = found.page != null ? `, page ${found.page}` : "";
  const section = found.section ? ` > ${found.section}` : "";
  return `${shortPath(found.path)}:${found.line}${page}${section}`;
}

function passageLink(id, found, extra = {}) {
  return el("a", { href: `/passages/${id}`, className: "source", title: found.path, ...extra }, where(found));
}

// -- the search form and the URL ------------------------------------------------

function formParams() {
  const form = $("#search");
  const params = new URLSearchParams({ q: form.q.value.trim() });
  const kind = form.kind.value;
  if (kind !== "ask") params.set("kind", kind);
  for (const name of FILTERS) {
    const value = form[name].value.trim();
    if (value && !(name === "mode" && value === "hybrid")) params.set(name, value);
  }
  return params;
}

function fillForm(params) {
  const form = $("#search");
  form.q.value = params.get("q") || "";
  form.kind.value = params.get("kind") === "search" ? "search" : "ask";
  for (const name of FILTERS) form[name].value = params.get(name) || (name === "mode" ? "hybrid" : "");
  if (["path", "ext", "after", "before"].some((name) => params.get(name))) $("#filters").open = true;
}

function apiQuery(params) {
  const query = new URLSearchParams();
  for (const [name, value] of params) {
    if (name === "kind") continue;
    if (name === "ext") value.split(/[\s,]+/).filter(Boolean).forEach((e) => query.append("ext", e));
    else query.set(name, value);
  }
  return query;
}

// -- results --------------------------------------------------------------------

function highlighted(text, start, end) {
  return el("blockquote", { className: "passage" },
    text.slice(0, start), el("mark", {}, text.slice(start, end)), text.slice(end));
}

function renderAnswer(result) {
  const results = $("#results");
  const [best, ...others] = result.answers;
  if (!best) {
    results.append(el("p", { className: "none" }, "No answer found. The closest passages:"));
  } else {
    const guess = result.confident ? null : el("p", { className: "guess" }, "Under the reader's no-answer threshold: a best guess.");
    results.append(el("section", { className: "answer", id: "answer" },
      guess,
      el("h2", { className: "answer-text" }, best.text),
      el("p", { className: "meta" }, passageLinkForAnswer(best, result), ` · score ${best.rank_score.toFixed(2)}`),
      highlighted(best.passage, best.passage_start, best.passage_end)));
    if (others.length) {
      results.append(el("h3", {}, "Other answers"), el("ol", { className: "others" },
        ...others.map((a) => el("li", {}, el("strong", {}, a.text), " ", passageLinkForAnswer(a, result),
          el("span", { className: "score" }, ` ${a.rank_score.toFixed(2)}`)))));
    }
  }
  renderPassages(result.passages, "Passages read");
}

function passageLinkForAnswer(answer, result) {
  // The answer's passage is the retrieved one of the same file that contains its span.
  const passage = result.passages.find((p) => p.path === answer.path && p.start <= answer.start && answer.end <= p.end);
  return passage ? passageLink(passage.id, answer) : el("span", { className: "source" }, where(answer));
}

function renderPassages(passages, title) {
  if (!passages.length) {
    $("#results").append(el("p", { className: "none" }, "No passages found."));
    return;
  }
  $("#results").append(el("h3", {}, title), el("ol", { className: "passages" },
    ...passages.map((p) => el("li", {},
      el("p", { className: "meta" }, passageLink(p.id, p), el("span", { className: "score" }, ` ${p.score.toFixed(3)}`)),
      el("p", { className: "snippet" }, p.text)))));
}

async function runQuery(params) {
  $("#document").hidden = true;
  $("#results").replaceChildren();
  const q = params.get("q");
  if (!q) {
    setStatus("");
    return;
  }
  const kind = params.get("kind") === "search" ? "search" : "ask";
  document.title = `${q} · bertsearch`;
  setStatus(kind === "ask" ? "Reading…" : "Searching…");
  try {
    const query = apiQuery(params);
    if (kind === "search" && !query.has("rerank")) query.set("rerank", PAGE_RERANK);
    const body = await api(`/api/${kind}?${query}`);
    setStatus("");
    if (kind === "ask") renderAnswer(body);
    else renderPassages(body, "Passages");
  } catch (error) {
    handleError(error, () => runQuery(params));
  }
}

// -- a document, opened at a passage ---------------------------------------------------

async function showDocument(id, passageId) {
  $("#results").replaceChildren();
  setStatus("Loading the document…");
  try {
    const body = await api(`/api/documents/${id}`);
    setStatus("");
    renderDocument(body, passageId);
  } catch (error) {
    handleError(error, () => showDocument(id, passageId));
  }
}

function renderDocument({ document: doc, text, passages }, passageId) {
  document.title = `${shortPath(doc.path)} · bertsearch`;
  $("#document-title").textContent = doc.path;
  $("#document-meta").textContent = `${doc.format} · ${doc.passages} passages · ${doc.size.toLocaleString()} bytes`;
  const target = passages.find((p) => p.id === passageId);
  const out = $("#document-text");
  out.replaceChildren();
  // An empty anchor at every passage's start, and the target passage wrapped whole in a <mark>
  // (passages overlap, so the anchors that would fall inside it are left out).
  let at = 0;
  let marked = !target;
  const mark = () => {
    out.append(text.slice(at, target.start),
      el("mark", { id: `passage-${target.id}`, className: "target", tabIndex: -1 }, text.slice(target.start, target.end)));
    at = target.end;
    marked = true;
  };
  const anchors = passages.filter((p) => !target || p.start < target.start || p.start >= target.end);
  for (const p of anchors.sort((a, b) => a.start - b.start)) {
    if (!marked && target.start <= p.start) mark();
    out.append(text.slice(at, p.start), el("span", { id: `passage-${p.id}`, className: "anchor" }));
    at = p.start;
  }
  if (!marked) mark();
  out.append(text.slice(at));
  $("#document").hidden = false;
  const found = target && document.getElementById(`passage-${target.id}`);
  if (found) {
    found.scrollIntoView({ block: "center" });
    found.focus({ preventScroll: true });
  }
}

async function openPassage(id) {
  setStatus("Finding the passage…");
  try {
    const passage = await api(`/api/passages/${id}`);
    history.replaceState(null, "", `/documents/${passage.document_id}#passage-${id}`);
    await showDocument(passage.document_id, id);
  } catch (error) {
    handleError(error, () => openPassage(id));
  }
}

// -- the token -------------------------------------------------------------------

function handleError(error, retry) {
  if (!(error instanceof Unauthorized)) {
    setStatus(`Error: ${error.message}`);
    return;
  }
  setStatus(localStorage.getItem(TOKEN_KEY) ? "That token was refused." : "");
  const form = $("#token");
  form.hidden = false;
  form.querySelector("input").focus();
  form.onsubmit = (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN_KEY, form.querySelector("input").value.trim());
    form.hidden = true;
    retry();
  };
}

// -- routing -----------------------------------------------------------------------

function route() {
  const documentMatch = location.pathname.match(/^\/documents\/(\d+)\/?$/);
  const passageMatch = location.pathname.match(/^\/passages\/(\d+)\/?$/);
  if (documentMatch) {
    const hash = location.hash.match(/^#passage-(\d+)$/);
    return showDocument(Number(documentMatch[1]), hash ? Number(hash[1]) : null);
  }
  if (passageMatch) return openPassage(Number(passageMatch[1]));
  const params = new URLSearchParams(location.search);
  fillForm(params);
  return runQuery(params);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#search").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = formParams();
    if (!params.get("q")) return;
    history.pushState(null, "", `/?${params}`);
    runQuery(params);
  });
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      $("#q").focus();
    }
  });
  window.addEventListener("popstate", route);
  route();
});
