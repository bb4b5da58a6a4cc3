// The web chat page: one websocket carrying one session (see channels/web/protocol.py).
// Everything the server sends is shown with textContent, never as markup. One-switch
// scanning lives in scanning.js and the on-screen keyboard in keyboard.js (loaded first).
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);
  const STORE_KEY = "facility-assistant.session";
  const STORE_CODE = "facility-assistant.code";
  const STORE_LOG = "facility-assistant.log"; // sessionStorage: this tab's conversation
  const kiosk = config.kiosk;
  const speech = config.speech; // defaults and ranges of rate, volume and silence

  let socket = null;
  let language = config.language;
  let preferences = {};
  let lastQuestion = null;
  let photoToken = null; // issue 15: what the page sends with a picture (from the session message)
  let photoWanted = false; // the question waiting is a photo question
  let headingState = null; // the session state the heading's question belongs to
  let retry = 0;
  let textQuestion = false; // the question waiting wants typed text (no buttons to press)
  let restoreListening = false; // set on connect: hands-free listening comes back by itself
  const pending = []; // messages typed while the connection was down
  let keepAlert = false; // the server closed with a reason: keep it shown after reconnecting
  let codeAsked = false; // hello carried the code from the address: its error must stay
  const scanner = window.FacilityScanning.create(() => preferences);
  const made = kiosk ? null : window.FacilityMade.create({
    section: $("made"), list: $("made-list"), t: (key, params) => t(key, params),
  });
  const keyboard = kiosk ? null : window.FacilityKeyboard.create({
    host: $("keyboard"), t: (key, params) => t(key, params), language, onChange: () => {},
  });

  // -- strings ----------------------------------------------------------------------------

  const t = (key, params = {}) => {
    let text = (config.strings[language] || {})[key] || key;
    for (const [name, value] of Object.entries(params)) text = text.replace(`{${name}}`, value);
    return text;
  };

  function applyLanguage(next) {
    if (!config.strings[next]) return;
    language = next;
    document.documentElement.lang = next;
    document.querySelectorAll("[data-s]").forEach((el) => { el.textContent = t(el.dataset.s); });
    document.querySelectorAll("[data-s-alt]").forEach((el) => { el.alt = t(el.dataset.sAlt); });
    document.querySelectorAll("[data-s-title]").forEach((el) => { el.title = t(el.dataset.sTitle); });
    document.querySelectorAll("[data-s-aria-label]").forEach((el) => {
      el.setAttribute("aria-label", t(el.dataset.sAriaLabel));
    });
    if (!kiosk) {
      const other = next === "ja" ? "en" : "ja";
      $("language").lang = other;
      $("language").textContent = t("switch_language");
      labelSteppers();
      keyboard.setLanguage(next);
    }
  }

  // -- the socket -------------------------------------------------------------------------

  function send(message) {
    if (message.type !== "preferences") keepAlert = false; // the user acts: old news can go
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    else pending.push(message);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/ws`);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => {
      retry = 0;
      restoreListening = true;
      // A reason the server gave for closing stays until the user does something next;
      // "connection lost" goes at once.
      if (!keepAlert) showAlert("");
      const hello = { type: "hello", language };
      if (kiosk) {
        hello.kiosk = kiosk;
        // A kiosk screen on another machine shows the code only with the kiosk's token.
        if (config.kiosk_token) hello.token = config.kiosk_token;
      } else if (config.code) {
        hello.code = config.code;
        codeAsked = true; // a wrong code is said, and stays said over the new session
      }
      else {
        const key = localStorage.getItem(STORE_KEY);
        const code = localStorage.getItem(STORE_CODE);
        if (key) hello.session = key;
        else if (code) hello.code = code;
      }
      config.code = null;
      socket.send(JSON.stringify(hello));
      while (pending.length) socket.send(JSON.stringify(pending.shift()));
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      receive(message);
    });
    socket.addEventListener("close", (event) => {
      stopMicrophone();
      // The server says why when it closes on purpose (in the session's language).
      showAlert(event.reason || t("connection_lost"));
      keepAlert = Boolean(event.reason);
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * 2 ** retry);
    });
  }

  function receive(message) {
    switch (message.type) {
      case "session": return showSession(message);
      case "replies": return showReplies(message.replies || []);
      case "heard": $("heard") && ($("heard").textContent = message.say); addLog(message.text, true); return;
      case "listening": return onListening(Boolean(message.active));
      case "speech": return playSpeech(message.audio);
      case "stop_speech": return stopSpeech();
      case "error":
        if (codeAsked) {
          keepAlert = true;
          codeAsked = false;
          // The code from the address named no session: say so, and that this one is new.
          if (message.code === "no_code") return showAlert(`${message.message} ${t("new_session_started")}`);
        }
        return showAlert(message.message);
      case "notice":
        // A session that ended elsewhere: its code no longer works, so it is not offered.
        if (message.code === "session_ended") $("continue").hidden = true;
        announce(message.message);
        return showInfo([message.message]);
      case "watching": return showWaiting(Boolean(message.kiosk_connected));
      default: return undefined;
    }
  }

  // -- showing the session ----------------------------------------------------------------

  function showSession(session) {
    codeAsked = false;
    if (!kiosk) {
      if (session.key) localStorage.setItem(STORE_KEY, session.key);
      else localStorage.removeItem(STORE_KEY);
      localStorage.setItem(STORE_CODE, session.code);
    }
    photoToken = session.photo_token || null;
    if (!kiosk) $("photo-box").hidden = !(photoWanted && photoToken);
    if (session.state) document.body.dataset.state = session.state;
    $("code").textContent = session.code;
    $("code-qr").src = session.resume_qr;
    $("continue").hidden = false; // hidden until there is a code (no empty code, no broken picture)
    if (session.language !== language) applyLanguage(session.language);
    applyPreferences(session.preferences || {});
    if (!kiosk && restoreListening && preferences.hands_free && !listening) startListening();
    restoreListening = false;
    if (history.replaceState && location.search.includes("code=")) {
      history.replaceState(null, "", location.pathname + (kiosk ? location.search.replace(/[?&]code=[^&]*/, "") : ""));
    }
  }

  // The kiosk screen before the kiosk has a session: say how to begin, not a blank page.
  // Without any kiosk on this seat it says so, and how to start one.
  function showWaiting(connected) {
    if (lastQuestion) return;
    $("question").textContent = t(connected ? "kiosk_waiting" : "kiosk_none");
  }

  // The conversation is kept in this tab's sessionStorage, so a reload shows it again; the
  // question the server repeats on reconnecting is not logged twice.
  function addLog(text, user = false, lang = language, keep = true, site = null) {
    const last = $("log").lastElementChild;
    if (!user && last && !last.classList.contains("user") && last.textContent === text) return;
    const item = document.createElement("li");
    item.textContent = text;
    // A page the user published (issue 16): its address in the sentence is a link to it.
    const at = site && /^https?:\/\//.test(site.url) ? text.indexOf(site.url) : -1;
    if (at >= 0) {
      const link = document.createElement("a");
      link.href = site.url;
      link.textContent = site.url;
      link.target = "_blank";
      link.rel = "noopener";
      item.replaceChildren(text.slice(0, at), link, text.slice(at + site.url.length));
    }
    item.lang = lang;
    if (user) item.className = "user";
    $("log").append(item);
    while ($("log").children.length > 200) $("log").firstElementChild.remove();
    if (keep && !kiosk) saveLog();
  }

  function saveLog() {
    const entries = [...$("log").children].map((li) => ({ text: li.textContent, user: li.classList.contains("user"), lang: li.lang }));
    try { sessionStorage.setItem(STORE_LOG, JSON.stringify(entries)); } catch { /* full: the page still shows it */ }
  }

  function restoreLog() {
    let entries = [];
    try { entries = JSON.parse(sessionStorage.getItem(STORE_LOG) || "[]"); } catch { entries = []; }
    for (const entry of entries) {
      if (entry && typeof entry.text === "string") addLog(entry.text, Boolean(entry.user), entry.lang || language, false);
    }
  }

  function announce(text) {
    const live = $("live");
    live.textContent = "";
    // A new node each time, so a repeated sentence is announced again.
    setTimeout(() => { live.textContent = text; }, 50);
  }

  function showAlert(text) {
    $("alert").textContent = text;
  }

  // The answer box is invalid while ``text`` (the reason) is shown in the alert region.
  function markInvalid(text, answer = true) {
    if (kiosk) { if (text) showAlert(text); return; }
    const box = $("answer");
    if (!text || !answer) {
      if (text) showAlert(text);
      box.removeAttribute("aria-invalid");
      box.removeAttribute("aria-describedby");
      return;
    }
    box.setAttribute("aria-invalid", "true");
    box.setAttribute("aria-describedby", "alert");
    // Emptied first and filled a moment later, so the same mistake twice is announced twice.
    showAlert("");
    setTimeout(() => showAlert(text), 50);
  }

  function showInfo(lines) {
    const info = $("info");
    info.replaceChildren(...lines.map((line) => {
      const p = document.createElement("p");
      p.textContent = line;
      return p;
    }));
  }

  function path(url) {
    try { return new URL(url, location.href).pathname; } catch { return url; }
  }

  function showReplies(replies) {
    if (!replies.length) return;
    const last = replies[replies.length - 1];
    const before = document.body.dataset.state;
    document.body.dataset.state = last.state;
    if (last.language !== language) applyLanguage(last.language);
    if (!keepAlert) showAlert("");
    if (replies.some((reply) => reply.stop)) stopSpeech(); // the user said "stop": silence now
    replies.forEach((reply) => addLog(reply.text, false, language, true, (reply.links || []).find((link) => link.kind === "site")));
    // A problem with the answer is an error: the alert region says it (so it is not also
    // announced in the live region) and the answer box is marked invalid until the next reply.
    const problem = replies.find((reply) => reply.kind === "problem");
    // (A generation that failed is an error too, but not the answer box's.)
    markInvalid(problem ? problem.text : "", before !== "generating");
    announce(replies.filter((reply) => reply !== problem).map((reply) => reply.text).join("\n"));

    const asking = [...replies].reverse().find((r) => ["question", "menu", "confirm"].includes(r.kind));
    // Without a question in the replies, a new state still gets a new heading (generating;
    // a failed generation back at confirm), so the page never shows a question left behind.
    const delivery = [...replies].reverse().find((r) => r.kind === "delivery");
    // A delivery is the news: its sentence ("Your café web page is ready!") is the heading,
    // and "what next?" goes below it with its buttons.
    const headed = delivery || asking || (last.state !== headingState ? last : null);
    const others = replies.filter((r) => r !== headed && r !== delivery && r !== problem).map((r) => r.text);
    if (delivery && delivery !== headed) others.unshift(delivery.text);
    const previous = asking && asking.kind === "question" ? asking.previous : null;
    if (previous) others.push(t("previous_answer", { value: previous }));
    showInfo(others);
    $("progress-area").hidden = last.state !== "generating";
    if (!kiosk) $("cancel-making").hidden = last.state !== "generating"; // stop it, by button
    const progress = [...replies].reverse().find((r) => r.progress);
    if (progress) showProgress(progress.progress.fraction);
    else if (last.state !== "generating") showProgress(null);
    if (last.state !== "delivered" && last.state !== "generating") $("delivery").hidden = true;
    if (delivery) showDelivery(delivery);

    const question = headed ? headed.text : "";
    if (headed) headingState = last.state;
    const heading = $("question");
    const changed = question && question !== lastQuestion;
    if (question) heading.textContent = question;
    // A reply that only informs (paused, slower, a notice) leaves the question's buttons be.
    const expecting = asking && asking.kind === "question" ? asking.expects || null : null;
    if (headed) showChoices(asking ? asking.choices || [] : [], expecting);
    if (headed && !kiosk) fitAnswerBox(expecting);
    lastQuestion = question || lastQuestion;
    if (headed && !kiosk) {
      textQuestion = Boolean(asking && asking.kind === "question" && !(asking.choices || []).length);
      if (preferences.scan) fitKeyboard();
    }
    // Back or "change": the earlier answer goes back in the box (unless the user has already
    // typed), selected, so Send keeps it, typing replaces it, and End lets them add to a list.
    const box = kiosk ? null : $("answer");
    const prefill = Boolean(box && previous && textQuestion && !box.value);
    if (prefill) box.value = previous;
    if (changed && !kiosk) focusAnswer();
    if (prefill && document.activeElement === box) box.select();
    scanner.reset();
  }

  // A new question is announced through the live region; focus stays in (or comes back to)
  // the answer box, so keys typed at once are not lost. A user busy in the settings is left
  // there; a switch user gets the heading (Space would type in the box).
  function focusAnswer() {
    if (preferences.scan) { $("question").focus(); return; }
    const active = document.activeElement;
    if (active && active !== document.body && active.closest("#settings")) return;
    $("answer").focus();
  }

  // A known fraction fills the bar (determinate); without one it only says "working".
  function showProgress(fraction) {
    const bar = $("progress");
    if (typeof fraction === "number" && Number.isFinite(fraction)) {
      bar.max = 1;
      bar.value = Math.max(0, Math.min(1, fraction));
    } else {
      bar.removeAttribute("value");
    }
  }

  // Scanning users get the keyboard when a question wants typed text, and lose it when the
  // question has buttons instead; anyone else opens and closes it themselves.
  function fitKeyboard() {
    if (textQuestion) keyboard.open($("answer"));
    else if (keyboard.isOpenFor($("answer"))) keyboard.close();
  }

  function showDelivery(reply) {
    const links = reply.links || [];
    const find = (kind) => links.find((link) => link.kind === kind);
    const preview = find("preview");
    const download = find("download");
    const qr = find("qr");
    if (!preview && !download) return;
    $("delivery").hidden = false;
    if (preview) {
      $("preview").src = path(preview.url);
      $("preview-link").href = preview.url;
    }
    if (download) $("download").href = download.url;
    if (qr) $("qr").src = path(qr.url);
    if (made) made.remember(reply.text, preview, download); // the kiosk screen is everyone's
  }

  // Skip only where the question may be skipped; a number pad for numbers.
  // -- photos (issue 15, part U) -------------------------------------------------------------

  async function sendPhoto(input) {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file || !photoToken) return;
    $("photo-status").textContent = t("photo_sending");
    try {
      // The chat shows what the dialog says (the alt-text question, or why it was refused).
      const response = await fetch("/photo", { method: "POST", headers: { "X-Photo-Token": photoToken }, body: file });
      $("photo-status").textContent = "";
      const result = response.ok ? await response.json() : {};
      if (result.accepted) { // taken: what is in it is asked next, typed in the answer box
        photoWanted = false;
        $("photo-box").hidden = true;
        $("answer").focus();
      }
    } catch {
      $("photo-status").textContent = t("photo_failed");
    }
  }
  if (!kiosk) {
    for (const id of ["photo-file", "photo-camera"]) $(id).addEventListener("change", (event) => sendPhoto(event.target));
  }

  function fitAnswerBox(expecting) {
    $("skip").hidden = !(expecting && expecting.optional);
    // A photo question (issue 15): pick a picture or take one; it goes over HTTP, not the socket.
    photoWanted = Boolean(expecting && expecting.type === "photo");
    $("photo-box").hidden = !(photoWanted && photoToken);
    if (expecting && expecting.type === "number") $("answer").setAttribute("inputmode", "numeric");
    else $("answer").removeAttribute("inputmode");
  }

  // What a question may be answered with by one press besides its own choices: each number
  // of a small range (quiz: 3 to 10), or colour swatches (the name is said, never a code).
  function quickAnswers(expecting) {
    if (!expecting || kiosk) return [];
    const { low, high } = expecting;
    if (expecting.type === "number" && Number.isInteger(low) && Number.isInteger(high) && high - low <= 10) {
      return Array.from({ length: high - low + 1 }, (_, i) => ({ label: String(low + i), said: String(low + i) }));
    }
    return (expecting.swatches || []).map((s) => ({ label: s.label, said: s.label, color: s.color }));
  }

  function showChoices(choices, expecting = null) {
    const box = $("choices");
    box.replaceChildren();
    const quick = choices.length ? [] : quickAnswers(expecting);
    box.hidden = choices.length === 0 && quick.length === 0;
    for (const answer of quick) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = answer.color ? "secondary swatch-button" : "secondary";
      button.dataset.choice = answer.said;
      if (answer.color) {
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.setAttribute("aria-hidden", "true");
        swatch.style.backgroundColor = answer.color;
        button.append(swatch);
      }
      button.append(answer.label);
      button.addEventListener("click", () => {
        say(answer.said);
        if (!preferences.scan) $("answer").focus();
      });
      box.append(button);
    }
    // The read-back's buttons name the answer they change ("Change the shop name"): no number
    // in front. "Make it" is the main action and looks it; changing is secondary.
    const readBack = choices.some((choice) => choice.id === "make" && choice.number === 0);
    for (const choice of choices) {
      const label = choice.number > 0 && !readBack ? `${choice.number}. ${choice.label}` : choice.label;
      if (kiosk) {
        const item = document.createElement("p");
        item.textContent = label;
        box.append(item);
        continue;
      }
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.dataset.choice = choice.id;
      if (readBack) button.className = choice.number === 0 ? "primary" : "secondary";
      // The dialog understands the number in every state; "make it" (0) is said by name.
      const said = choice.number > 0 ? String(choice.number) : choice.label;
      button.addEventListener("click", () => {
        say(said, label);
        // The buttons are replaced by the next reply: keep the keyboard somewhere useful.
        if (!preferences.scan) $("answer").focus();
      });
      box.append(button);
    }
  }

  function say(text, shown = text) {
    addLog(shown, true);
    send({ type: "say", text });
  }

  // -- preferences ------------------------------------------------------------------------

  function applyPreferences(values) {
    const before = { ...preferences };
    preferences = { ...preferences, ...values };
    document.documentElement.dataset.theme = preferences.theme === "contrast" ? "contrast" : "default";
    const size = Number(preferences.text_size || 1);
    document.documentElement.style.fontSize = `${Math.round(size * 100)}%`;
    if (kiosk) return;
    $("pref-theme").checked = preferences.theme === "contrast";
    $("pref-text-size").value = String(size);
    showTextSize(size);
    $("pref-voice").checked = Boolean(preferences.voice);
    $("pref-hands-free").checked = Boolean(preferences.hands_free);
    $("pref-silence").value = String(preferences.silence || speech.silence.default);
    $("pref-scan").checked = Boolean(preferences.scan);
    $("pref-scan-auto").checked = Boolean(preferences.scan_auto);
    $("pref-scan-speed").value = String(preferences.scan_speed || 1.5);
    $("pref-hold").value = String(preferences.hold_time || 0.7);
    $("switch").hidden = !preferences.scan;
    if (preferences.scan && !before.scan) fitKeyboard();
    // Only a change to scanning itself starts it afresh: changing another setting by switch
    // leaves the highlight where it is, so the next setting is one press away.
    if (before.scan !== preferences.scan) scanner.reset();
    else if (before.scan_auto !== preferences.scan_auto || before.scan_speed !== preferences.scan_speed) scanner.restartTimer();
  }

  // The slider's value is read as "150%", as it is shown, not as "1.5".
  function showTextSize(size) {
    const percent = `${Math.round(Number(size) * 100)}%`;
    $("text-size-value").textContent = percent;
    $("pref-text-size").setAttribute("aria-valuetext", percent);
  }

  function setPreference(name, value) {
    applyPreferences({ [name]: value });
    send({ type: "preferences", values: { [name]: value } });
  }

  function bindSettings() {
    $("settings-toggle").addEventListener("click", () => {
      const open = $("settings").hidden;
      $("settings").hidden = !open;
      $("settings-toggle").setAttribute("aria-expanded", String(open));
      if (open) $("settings-title").setAttribute("tabindex", "-1"), $("settings-title").focus();
    });
    $("pref-theme").addEventListener("change", (e) => setPreference("theme", e.target.checked ? "contrast" : "default"));
    $("pref-text-size").addEventListener("input", (e) => showTextSize(e.target.value));
    $("pref-text-size").addEventListener("change", (e) => setPreference("text_size", Number(e.target.value)));
    $("pref-voice").addEventListener("change", (e) => setPreference("voice", e.target.checked));
    $("pref-hands-free").addEventListener("change", (e) => {
      setPreference("hands_free", e.target.checked);
      if (e.target.checked) startListening(); else stopListening();
    });
    const number = (id, name, low, high) => $(id).addEventListener("change", (e) => {
      const value = Number(e.target.value);
      if (Number.isFinite(value) && value >= low && value <= high) setPreference(name, value);
    });
    number("pref-silence", "silence", speech.silence.low, speech.silence.high);
    number("pref-scan-speed", "scan_speed", 0.5, 5);
    number("pref-hold", "hold_time", 0.3, 3);
    addSteppers();
    $("pref-scan").addEventListener("change", (e) => {
      setPreference("scan", e.target.checked);
      // Scanning starts from the question, so the next press of the switch steps to its
      // first answer (and Space on the settings' own controls still works as usual).
      if (e.target.checked) $("question").focus();
    });
    $("pref-scan-auto").addEventListener("change", (e) => setPreference("scan_auto", e.target.checked));
  }

  // -- settings' number buttons -----------------------------------------------------------

  // Number settings get large - and + buttons, so a switch user can change them too.
  function addSteppers() {
    document.querySelectorAll("#settings input[type=number], #settings input[type=range]").forEach((input) => {
      const make = (direction, label) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary stepper";
        button.textContent = label;
        button.dataset.stepperFor = input.id;
        button.dataset.direction = direction;
        button.addEventListener("click", () => {
          if (direction === "more") input.stepUp(); else input.stepDown();
          input.dispatchEvent(new Event("input", { bubbles: true }));
          input.dispatchEvent(new Event("change", { bubbles: true }));
        });
        return button;
      };
      input.insertAdjacentElement("afterend", make("more", "+"));
      input.insertAdjacentElement("afterend", make("less", "−"));
    });
    labelSteppers();
  }

  function labelSteppers() {
    document.querySelectorAll("[data-stepper-for]").forEach((button) => {
      const label = document.querySelector(`label[for="${button.dataset.stepperFor}"]`);
      const name = t(button.dataset.direction, { name: label ? label.textContent : "" });
      button.setAttribute("aria-label", `${button.textContent} ${name}`); // starts with what it shows
    });
  }

  // -- voice ------------------------------------------------------------------------------

  let audio = null; // { context, stream, node, source }
  let listening = false;
  let speaking = false;
  let frameBuffer = new Int16Array(0);

  async function openMicrophone() {
    if (audio) return audio;
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const context = new AudioContext({ sampleRate: 16000 });
    await context.audioWorklet.addModule(workletUrl());
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-capture");
    node.port.onmessage = (event) => onSamples(event.data);
    source.connect(node);
    audio = { context, stream, node, source };
    return audio;
  }

  function workletUrl() {
    const script = document.querySelector("script[src*='chat.js']");
    return script.src.replace("chat.js", "capture-worklet.js");
  }

  function onSamples(floats) {
    if (!listening || speaking || !socket || socket.readyState !== WebSocket.OPEN) return;
    const joined = new Int16Array(frameBuffer.length + floats.length);
    joined.set(frameBuffer);
    for (let i = 0; i < floats.length; i += 1) {
      const s = Math.max(-1, Math.min(1, floats[i]));
      joined[frameBuffer.length + i] = s < 0 ? s * 0x8000 : s * 0x7fff;
    }
    const whole = joined.length - (joined.length % 960); // two 30 ms frames per message
    if (whole > 0) socket.send(joined.slice(0, whole).buffer);
    frameBuffer = joined.slice(whole);
  }

  // The server is asked first: the microphone is opened only once it says it has a
  // recogniser for the language (its "listening" answer), never for nothing.
  function startListening() {
    if (!window.isSecureContext || !navigator.mediaDevices) {
      showAlert(t("mic_insecure"));
      return;
    }
    frameBuffer = new Int16Array(0);
    send({ type: "audio_start", mode: preferences.hands_free ? "hands_free" : "once" });
  }

  async function onListening(active) {
    if (active && !audio) {
      try {
        await openMicrophone();
        // Resuming may wait for the user's first press after a reload; do not wait for it.
        if (audio.context.state === "suspended") audio.context.resume().catch(() => {});
      } catch (error) {
        showAlert(microphoneProblem(error));
        send({ type: "audio_end" });
        setListening(false);
        return;
      }
    }
    setListening(active);
  }

  // The browser's own error text is for developers; users get one sentence that says what to do.
  function microphoneProblem(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return t("mic_denied");
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return t("mic_missing");
    if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") return t("mic_busy");
    if (name === "TypeError" && !window.isSecureContext) return t("mic_insecure");
    return t("mic_failed");
  }

  function stopListening() {
    if (listening) send({ type: "audio_end" });
    setListening(false);
  }

  function stopMicrophone() {
    // Take the microphone first: setListening(false) closes it too and must find it gone.
    const open = audio;
    audio = null;
    setListening(false);
    if (!open) return;
    open.stream.getTracks().forEach((track) => track.stop());
    open.context.close();
  }

  function setListening(active) {
    listening = active;
    const talk = $("talk");
    if (!talk) return;
    talk.setAttribute("aria-pressed", String(active));
    talk.textContent = active ? t("stop_talking") : t("talk");
    if (active) $("heard").textContent = t("listening");
    if (!active && !preferences.hands_free && audio) stopMicrophone();
  }

  // Spoken replies play one at a time, in order; "stop" (the button, Escape, or the user
  // saying it) silences the one playing and drops the rest at once.
  const speechQueue = [];
  let player = null;

  function playSpeech(base64) {
    speechQueue.push(base64);
    if (!player) playNext();
  }

  function playNext() {
    const next = speechQueue.shift();
    if (next === undefined) {
      player = null;
      if (!kiosk) $("stop-speech").hidden = true;
      setTimeout(() => { if (!player) speaking = false; }, 300); // the room's echo fades
      return;
    }
    const current = new Audio(`data:audio/wav;base64,${next}`);
    player = current;
    const volume = speech.volume.default; // the page's full volume is the default one
    current.volume = Math.max(0, Math.min(1, Number(preferences.volume || volume) / volume));
    speaking = true; // the microphone is gated while the page talks
    if (!kiosk) $("stop-speech").hidden = false;
    const done = () => { if (player === current) playNext(); };
    current.addEventListener("ended", done);
    current.addEventListener("error", done);
    current.play().catch(done);
  }

  function stopSpeech() {
    speechQueue.length = 0;
    const current = player;
    player = null;
    if (current) {
      current.pause();
      current.removeAttribute("src");
      current.load();
    }
    playNext();
  }

  // -- start ------------------------------------------------------------------------------

  function bind() {
    $("answer-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("answer").value.trim();
      if (!text) { markInvalid(t("blank_answer")); return; }
      $("answer").value = "";
      say(text);
    });
    $("continue-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const code = $("continue-code").value.trim().toUpperCase();
      if (code) send({ type: "resume", code });
      $("continue-code").value = "";
      if (keyboard.isOpenFor($("continue-code"))) keyboard.close();
    });
    $("actions").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-command]");
      if (button) send({ type: "command", name: button.dataset.command });
    });
    $("language").addEventListener("click", () => {
      send({ type: "command", name: "switch_language", argument: language === "ja" ? "en" : "ja" });
    });
    $("talk").addEventListener("click", () => {
      if (listening) stopListening(); else startListening();
    });
    $("stop-speech").addEventListener("click", () => {
      stopSpeech();
      send({ type: "command", name: "stop" });
      $("talk").focus(); // the button is gone now: focus goes to the nearest control
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && player) {
        e.preventDefault();
        stopSpeech();
      }
    });
    for (const toggle of [$("keyboard-toggle"), $("continue-keyboard")]) {
      toggle.addEventListener("click", () => {
        const input = $(toggle.dataset.keyboardFor);
        if (keyboard.isOpenFor(input)) keyboard.close(); else keyboard.open(input);
      });
    }
    bindSettings();
    scanner.bind($("switch"));
  }

  applyLanguage(language);
  if (!kiosk) bind();
  if (made) made.show();
  if (!kiosk) restoreLog();
  connect();
})();
