// "What you made": this tab's deliveries with their links, kept in sessionStorage for the
// tab's life, so "make another", "finish" or a reload never takes the earlier links away.
"use strict";

window.FacilityMade = (() => {
  const STORE_MADE = "facility-assistant.made";

  // ``section`` is shown once there is something; ``list`` holds one item per delivery;
  // ``t`` gives the page's strings (the links are named "Preview" and "Download").
  function create({ section, list, t }) {
    function madeList() {
      try { return JSON.parse(sessionStorage.getItem(STORE_MADE) || "[]"); } catch { return []; }
    }

    function remember(text, preview, download) {
      const made = madeList();
      const url = (download || preview).url;
      if (!made.some((item) => item.url === url)) {
        // The delivery's first sentence names the thing ("Your quiz game is ready!").
        const title = text.split(/(?<=[.!?。！？])\s*/)[0].replace(/[.!。！]+$/, "");
        made.push({ title, url, preview: preview ? preview.url : null, download: download ? download.url : null });
        try { sessionStorage.setItem(STORE_MADE, JSON.stringify(made.slice(-20))); } catch { /* full: shown anyway */ }
      }
      showMade(made);
    }

    function showMade(made = madeList()) {
      section.hidden = made.length === 0;
      list.replaceChildren(...made.map((item) => {
        const entry = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = item.title;
        entry.append(name);
        for (const [kind, url] of [["preview", item.preview], ["download", item.download]]) {
          if (!url) continue;
          const link = document.createElement("a");
          link.href = url;
          link.textContent = t(kind);
          link.setAttribute("aria-label", `${t(kind)}: ${item.title}`);
          if (kind === "preview") { link.target = "_blank"; link.rel = "noopener"; }
          entry.append(" ", link);
        }
        return entry;
      }));
    }

    return { remember, show: () => showMade() };
  }

  return { create };
})();
