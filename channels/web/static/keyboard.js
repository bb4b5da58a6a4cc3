// The on-screen keyboard: typing with a pointer, the keyboard or one switch.
// Rows of large buttons, so one-switch scanning can go row by row and then key by key
// (row-column scanning, as AAC devices do): a 50-sound table for Japanese, the alphabet in
// ABC order for English, digits and marks on their own page. Keys type into one text box
// (the answer, or the continuation code); "Send" submits that box's form.
"use strict";

window.FacilityKeyboard = (() => {
  const HIRAGANA = [
    "あいうえお", "かきくけこ", "さしすせそ", "たちつてと", "なにぬねの",
    "はひふへほ", "まみむめも", "やゆよ", "らりるれろ", "わをんー",
  ];
  const katakana = (row) => [...row].map((c) => (c === "ー" ? c : String.fromCharCode(c.charCodeAt(0) + 0x60))).join("");
  const LOWER = ["abcdef", "ghijkl", "mnopqr", "stuvwx", "yz,.'&-"]; // the comma lists items
  const DIGITS = ["123", "456", "789", "0:-/", ".,!?"];
  const MARKS = [{ action: "dakuten" }, { action: "handakuten" }, { action: "small" }, { key: "、" }, { key: "。" }];
  const keys = (rows) => rows.map((row) => [...row].map((key) => ({ key })));
  const PAGES = {
    kana: [...keys(HIRAGANA), MARKS],
    katakana: [...keys(HIRAGANA.map(katakana)), MARKS],
    lower: keys(LOWER),
    upper: keys(LOWER.map((row) => row.toUpperCase())),
    digits: keys(DIGITS),
  };
  const PAGE_ORDER = { ja: ["kana", "katakana", "lower", "upper", "digits"], en: ["lower", "upper", "digits"] };
  // Small kana, both ways (pressing 小 again makes it large again).
  const SMALL = "あぁいぃうぅえぇおぉつっやゃゆゅよょわゎアァイィウゥエェオォツッヤャユュヨョワヮ";

  function smaller(char) {
    const at = SMALL.indexOf(char);
    if (at < 0) return null;
    return at % 2 === 0 ? SMALL[at + 1] : SMALL[at - 1];
  }

  // ゛ and ゜ join the last character when a voiced form exists (か → が, は → ぱ); pressed
  // again they take it off (が → か). Anything else is left as it is.
  function marked(char, combining) {
    const joined = (char + combining).normalize("NFC");
    if ([...joined].length === 1) return joined;
    const bare = char.normalize("NFD");
    if (bare.length === 2 && bare[1] === combining) return bare[0];
    return null;
  }

  function create({ host, t, language, onChange }) {
    let page = null;
    let lang = language;
    let target = null;

    function button(label, data, name) {
      const el = document.createElement("button");
      el.type = "button";
      el.className = "kb-key";
      el.textContent = label;
      if (name) el.setAttribute("aria-label", name);
      Object.assign(el.dataset, data);
      return el;
    }

    function row(buttons, extraClass) {
      const el = document.createElement("div");
      el.className = `kb-row${extraClass ? ` ${extraClass}` : ""}`;
      el.setAttribute("role", "group");
      el.tabIndex = -1; // scanning highlights a whole row before its keys
      el.setAttribute("aria-label", buttons.map((b) => b.getAttribute("aria-label") || b.textContent).join(" "));
      el.append(...buttons);
      return el;
    }

    function keyButton(item) {
      if (item.key) return button(item.key, { key: item.key });
      const label = { dakuten: "゛", handakuten: "゜", small: "小" }[item.action];
      // The name starts with what the key shows, so speech control can say it (WCAG 2.5.3).
      return button(label, { action: item.action }, `${label} ${t(`kb_${item.action}`)}`);
    }

    function render() {
      const order = PAGE_ORDER[lang] || PAGE_ORDER.en;
      if (!order.includes(page)) page = order[0];
      const controls = row([
        button(t("send"), { action: "send" }),
        button(t("kb_delete"), { action: "delete" }),
        button(t("kb_space"), { action: "space" }),
      ], "kb-controls");
      const pages = row([
        ...order.map((name) => {
          const el = button(t(`kb_${name}`), { action: `page:${name}` });
          el.setAttribute("aria-pressed", String(name === page));
          return el;
        }),
        button(t("kb_close"), { action: "close" }),
      ], "kb-controls");
      host.replaceChildren(controls, ...PAGES[page].map((items) => row(items.map(keyButton))), pages);
      host.setAttribute("aria-label", t("kb_label"));
    }

    function write(change) {
      if (!target) return;
      const chars = [...target.value];
      const next = change(chars);
      if (next === null) return;
      target.value = next.join("").slice(0, Number(target.maxLength) > 0 ? target.maxLength : undefined);
      target.dispatchEvent(new Event("input", { bubbles: true }));
      onChange(target.value);
    }

    function press(el) {
      const { key, action } = el.dataset;
      if (key) return write((chars) => [...chars, key]);
      switch (action) {
        case "space": return write((chars) => [...chars, " "]);
        case "delete": return write((chars) => (chars.length ? chars.slice(0, -1) : null));
        case "dakuten": case "handakuten": case "small":
          return write((chars) => {
            const last = chars[chars.length - 1];
            if (!last) return null;
            const next = action === "small" ? smaller(last) : marked(last, action === "dakuten" ? "\u3099" : "\u309a");
            return next ? [...chars.slice(0, -1), next] : null;
          });
        case "send":
          if (target && target.form) target.form.requestSubmit();
          return undefined;
        case "close": return close(true);
        default:
          if (action && action.startsWith("page:")) {
            page = action.slice(5);
            render();
            const again = host.querySelector(`[data-action="page:${page}"]`);
            if (again) again.focus();
          }
          return undefined;
      }
    }

    host.addEventListener("click", (e) => {
      const el = e.target.closest("button.kb-key");
      if (el) press(el);
    });

    function open(input) {
      target = input;
      // The keyboard sits right under the box it types into, so both are seen together.
      const form = input.form || input;
      if (form.nextElementSibling !== host) form.insertAdjacentElement("afterend", host);
      render();
      host.hidden = false;
      syncToggles();
    }

    function close(returnFocus = false) {
      const was = target;
      host.hidden = true;
      target = null;
      syncToggles();
      if (returnFocus && was) {
        const toggle = document.querySelector(`[data-keyboard-for="${was.id}"]`);
        if (toggle) toggle.focus();
      }
    }

    function syncToggles() {
      document.querySelectorAll("[data-keyboard-for]").forEach((el) => {
        el.setAttribute("aria-expanded", String(!host.hidden && target && target.id === el.dataset.keyboardFor));
      });
    }

    return {
      open,
      close,
      isOpenFor: (input) => !host.hidden && target === input,
      isOpen: () => !host.hidden,
      // A new language starts on its own first page (kana for Japanese, a–z for English).
      setLanguage(next) { if (next !== lang) page = null; lang = next; if (!host.hidden) render(); },
    };
  }

  return { create };
})();
