// Live sessions (issue 16, part S): refresh the list or a transcript (its turns, the session's
// state and who is helping) every few seconds from the same address as JSON, and announce
// (politely) sessions that newly need help. Without this script the pages still show
// everything as of their loading. All text goes in with textContent, never as markup.
"use strict";
(() => {
  const EVERY_MS = 3000;
  const table = document.querySelector("table[data-refresh]");
  if (!table) return;
  const body = table.tBodies[0];
  const kind = table.dataset.refresh;
  const announcer = document.getElementById("announce");
  const known = new Set(
    [...body.rows].filter((row) => row.dataset.help).map((row) => row.dataset.key));

  const cell = (tag, text, attrs = {}) => {
    const el = document.createElement(tag);
    el.textContent = text;
    Object.entries(attrs).forEach(([name, value]) => el.setAttribute(name, value));
    return el;
  };

  const listRow = (s) => {
    const tr = document.createElement("tr");
    tr.dataset.key = s.key;
    tr.dataset.help = s.needs_help ? "1" : "";
    const head = cell("th", "", { scope: "row" });
    head.append(cell("a", s.key, { href: s.url }));
    const help = document.createElement("td");
    if (s.needs_help) {
      help.append(cell("span", s.help, { class: "badge help" }), " " + s.reasons);
    } else {
      help.textContent = s.help;
    }
    if (s.helping) help.append(" ", cell("span", s.helping, { class: "helping" }));
    tr.append(head, help, cell("td", s.channel), cell("td", s.job), cell("td", s.question),
      cell("td", s.idle));
    return tr;
  };

  const turnRow = (t) => {
    const tr = document.createElement("tr");
    if (t.by_staff) tr.className = "by-staff";
    const replies = cell("td", "", { class: "free-text" });
    t.replies.forEach((text) => replies.append(cell("p", text)));
    tr.append(cell("td", t.at), cell("td", t.who), cell("td", t.said, { class: "free-text" }),
      replies, cell("td", t.state));
    return tr;
  };

  const announce = (sessions) => {
    if (!announcer) return;
    const fresh = sessions.filter((s) => s.needs_help && !known.has(s.key));
    known.clear();
    sessions.filter((s) => s.needs_help).forEach((s) => known.add(s.key));
    if (fresh.length) {
      announcer.textContent = fresh.map((s) => announcer.dataset.template
        .replace("{session}", s.key).replace("{reasons}", s.reasons)).join(" ");
    }
  };

  let last = "";  // the previous answer: an unchanged table is left alone (a reader keeps its place)

  const refresh = async () => {
    try {
      const response = await fetch(location.pathname + location.search,
        { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const text = await response.text();
      if (text === last) return;
      last = text;
      const data = JSON.parse(text);
      if (kind === "list") {
        body.replaceChildren(...data.sessions.map(listRow));
        const empty = document.getElementById("empty");
        if (empty) empty.hidden = data.sessions.length > 0;
        announce(data.sessions);
      } else {
        body.replaceChildren(...data.turns.map(turnRow));
        const summary = document.getElementById("summary");
        if (summary) summary.textContent = data.summary;
        const helping = document.getElementById("helping");
        if (helping) {
          helping.textContent = data.helping;
          helping.hidden = !data.helping;
        }
      }
    } catch (error) {
      // The next tick tries again; the page keeps what it showed.
    }
  };
  setInterval(refresh, EVERY_MS);
})();
