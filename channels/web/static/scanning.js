// One-switch scanning: a highlight steps through what can be pressed, and the switch chooses.
// Space (or the big switch button) steps when tapped and chooses when held for the user's
// hold time; with automatic scanning the highlight steps by itself and one press chooses.
// A keyboard row is one item; choosing it scans its keys (row-column scanning, as AAC does).
"use strict";

window.FacilityScanning = (() => {
  // The keyboard's rows and the answers first, then links, actions, the microphone and the
  // header, then the open settings: the most likely item is a press or two away. A keyboard
  // row is one item; choosing it scans its keys (row-column scanning).
  const SCAN_ORDER = [
    "#keyboard .kb-row", "#choices button", "#delivery a", "#actions button", "#keyboard-toggle",
    "#talk", "#stop-speech", "#continue-keyboard", "#language", "#settings-toggle",
    "#settings input[type=checkbox], #settings .stepper",
  ];

  // ``preferences`` returns the session's current settings (scan, scan_auto, scan_speed,
  // hold_time), read at each step so a change applies at once.
  function create(preferences) {
    let scanIndex = -1;
    let scanTimer = null;
    let scanGroup = null; // a keyboard row being scanned key by key

    const holdMs = () => Math.round(1000 * Number(preferences().hold_time || 0.7));
    const shown = (el) => !el.hidden && el.offsetParent !== null;

    function scanItems() {
      if (scanGroup) return [...scanGroup.querySelectorAll("button")].filter(shown);
      return SCAN_ORDER.flatMap((selector) => [...document.querySelectorAll(selector)]).filter(shown);
    }

    function clearHighlight() {
      document.querySelectorAll(".scan-focus").forEach((el) => el.classList.remove("scan-focus"));
    }

    function highlight(index) {
      if (scanGroup && !scanGroup.isConnected) scanGroup = null;
      const items = scanItems();
      clearHighlight();
      if (scanGroup && index >= items.length) { // past a row's last key: back to the rows
        const row = scanGroup;
        scanGroup = null;
        highlight(Math.max(0, scanItems().indexOf(row)));
        return;
      }
      if (!items.length) { scanIndex = -1; return; }
      scanIndex = ((index % items.length) + items.length) % items.length;
      const item = items[scanIndex];
      item.classList.add("scan-focus");
      item.focus({ preventScroll: false });
    }

    function scanNext() { highlight(scanIndex + 1); }

    function scanChoose() {
      const item = scanItems()[scanIndex];
      if (!item) return;
      if (item.classList.contains("kb-row")) {
        scanGroup = item;
        highlight(0);
        restartScanTimer();
        return;
      }
      const key = scanGroup !== null;
      item.click();
      if (key) { // a key was typed: start again from the top rows
        scanGroup = null;
        clearHighlight();
        scanIndex = -1;
        restartScanTimer();
      }
    }

    // Automatic scanning never takes focus from a box the user is typing in or adjusting.
    function userIsEditing() {
      const el = document.activeElement;
      if (!el || el.classList.contains("scan-focus")) return false;
      return el.matches("input[type=text], input[type=number], input[type=range], textarea, select");
    }

    function restartScanTimer() {
      clearInterval(scanTimer);
      scanTimer = null;
      if (!preferences().scan || !preferences().scan_auto) return;
      const every = Math.max(0.5, Number(preferences().scan_speed || 1.5)) * 1000;
      scanTimer = setInterval(() => { if (!userIsEditing()) scanNext(); }, every);
    }

    function resetScan() {
      clearHighlight();
      scanGroup = null;
      scanIndex = -1;
      restartScanTimer();
    }

    function bind(big) {
      let pressedAt = 0;
      let chose = false;
      let holdTimer = null;
      const press = () => {
        pressedAt = performance.now();
        chose = false;
        holdTimer = setTimeout(() => { chose = true; scanChoose(); }, holdMs());
      };
      const release = () => {
        clearTimeout(holdTimer);
        if (!pressedAt || chose) { pressedAt = 0; return; }
        pressedAt = 0;
        if (preferences().scan_auto) scanChoose(); else scanNext();
      };
      // Typing, and the settings' own controls, keep their keys: otherwise a keyboard user who
      // turned scanning on could not turn it off again with Space.
      // An item scanning itself highlighted belongs to the switch, though.
      const ownKeys = (target) => !target.classList.contains("scan-focus")
        && target.matches("input[type=text], input[type=number], #settings input");
      document.addEventListener("keydown", (e) => {
        if (!preferences().scan || ownKeys(e.target)) return;
        if (e.key === " ") {
          e.preventDefault();
          if (!e.repeat) press();
        } else if (e.key === "Enter" && scanIndex >= 0 && e.target.classList.contains("scan-focus")) {
          // (Enter on something else the user moved to, by Tab or pointer, is that thing's own.)
          e.preventDefault();
          scanChoose();
        }
      });
      document.addEventListener("keyup", (e) => {
        if (!preferences().scan || e.key !== " " || ownKeys(e.target)) return;
        e.preventDefault();
        release();
      });
      big.addEventListener("pointerdown", (e) => { e.preventDefault(); press(); });
      big.addEventListener("pointerup", (e) => { e.preventDefault(); release(); });
      big.addEventListener("click", (e) => e.preventDefault());
    }

    return { bind, reset: resetScan, restartTimer: restartScanTimer };
  }

  return { create };
})();
