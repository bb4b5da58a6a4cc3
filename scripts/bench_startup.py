"""Issue 13, part B: voices, the confirm burst, and memory. One ``name: value`` line a figure.

Voices (``--only-voices``): Kokoro and Open JTalk side by side, time from asking for a reply
to its first sentence's audio, cold (a fresh process: the engine loads on that request) and
warm (loaded, a sentence not yet cached). The kiosk's first Japanese reply is Open JTalk's
cold figure, since Kokoro loads in the background.

Burst (``--only-burst``): first the issue's figure the issue's way, ``web_confirm_to_delivery``
of ``scripts/bench_web.py`` (N sessions at a steady 200 turns/s, so the confirms come at that
rate), with the server's model off and busy (an Ollama-speaking server in a process of its own
that never finishes writing and refuses descriptions at once). Then the harsher round: a real
``assistant serve`` on one core; N web sessions walk the café page to its read-back, then all
say "yes" in the same second; confirm → delivery per session.
"before" is the server as it was (``warm_up = false``, one generation worker: the knowledge
base opens on the first delivery); "after" is today's; "after, model busy" has a model that
never finishes writing (an Ollama-speaking server in this process that stalls every reply),
so every delivery but the one the model writes for is a template delivery.

Memory (``--only-memory``): RSS of ``assistant serve`` after its start-up task, the same
server after 50 web sessions (the model is shared, not per session), the Qwen GGUF loaded
with llama.cpp as ``assistant serve`` will hold it, and ``assistant kiosk --lang ja`` with its
voices and recogniser loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from scripts.bench_web import free_port, measure, next_replies, rss_mb

ROOT = Path(__file__).resolve().parent.parent
REPLY = "ようこそ。カフェのページを作ります。お店の名前を教えてください。"
WARM_REPLY = "ありがとうございます。次の質問です。営業時間を教えてください。"
CAFE = ["1", "Blue Bakery", "bread, cake", "9 to 5", "warm", "skip", "skip"]
GOAL_TEMPLATE_P50_MS = 1000.0  # issue 13: a template delivery in the burst, at p50

# -- voices ---------------------------------------------------------------------------------

_VOICE_PROBE = """
import json, sys, time
from assistant.speech.synthesis import SpeechSynthesis
name = sys.argv[1]
if name == "kokoro":
    from assistant.speech.engines.kokoro import KokoroSynthesizer, kokoro_model_file
    from assistant.speech.voice_kit import MODELS_DIR
    engine = KokoroSynthesizer("jf_alpha", kokoro_model_file(MODELS_DIR)[1])
    engine.can_read = lambda text, language: engine.wait_ready(120)  # cold: wait for the load
else:
    from assistant.speech.engines.openjtalk import OpenJTalkSynthesizer
    engine = OpenJTalkSynthesizer()
synthesis = SpeechSynthesis({"ja": [engine]})
figures = {}
for label, text in (("cold", sys.argv[2]), ("warm", sys.argv[3])):
    started = time.perf_counter()
    next(synthesis.iter_sentences(text, "ja"))
    figures[label] = time.perf_counter() - started
print(json.dumps(figures))
"""


def bench_voices(runs: int = 3) -> None:
    """Kokoro and Open JTalk first audio, cold and warm, median of ``runs`` fresh processes."""
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(runs):
        for name in ("openjtalk", "kokoro"):
            out = subprocess.run(
                [sys.executable, "-c", _VOICE_PROBE, name, REPLY, WARM_REPLY],
                cwd=ROOT, capture_output=True, text=True, check=True, timeout=300,
            )  # fmt: skip
            for label, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
                results.setdefault(name, {}).setdefault(label, []).append(value)
    for label in ("cold", "warm"):
        for name in ("openjtalk", "kokoro"):
            value = statistics.median(results[name][label]) * 1000
            print(f"first_audio_{label}_{name}: {value:.0f} ms", flush=True)
    print(
        "first_audio_kiosk_first_reply_ja: "
        f"{statistics.median(results['openjtalk']['cold']) * 1000:.0f} ms "
        "(Open JTalk while Kokoro loads in the background)",
        flush=True,
    )


# -- the confirm burst ----------------------------------------------------------------------


async def _say(ws: aiohttp.ClientWebSocketResponse, text: str) -> list[dict]:
    await ws.send_json({"type": "say", "text": text})
    return await next_replies(ws)


async def _burst_session(
    http: aiohttp.ClientSession,
    url: str,
    answers: list[str],
    ready: list[int],
    all_ready: asyncio.Event,
    go: asyncio.Event,
    out: dict[str, list[Any]],
    walk_slots: asyncio.Semaphore,
) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with http.ws_connect(url, heartbeat=None, max_msg_size=0) as ws:
            async with walk_slots:  # a bounded number walk at once: the burst is the confirm
                await ws.send_json({"type": "hello", "language": "en"})
                await next_replies(ws)
                for text in answers:
                    replies = await _say(ws, text)
                    if replies[-1]["state"] == "describe":  # hybrid mode: a model answered
                        replies = await _say(ws, "A bakery")
                for _ in range(3):  # a description the walk did not expect shifts it by one
                    if replies[-1]["state"] != "ask":
                        break
                    replies = await _say(ws, "skip")
                if replies[-1]["state"] != "confirm":
                    raise RuntimeError(f"not at the read-back: {replies[-1]['text'][:80]}")
            _arrived(ready, all_ready)
            await go.wait()
            sent = loop.time()
            replies = await _say(ws, "yes")
            while not any(r["kind"] == "delivery" for r in replies):
                replies = await next_replies(ws)
            out["deliveries"].append(loop.time() - sent)
            text = " ".join(r["text"] for r in replies)
            out["template"].append("standard text" in text)
    except Exception as err:  # counted, not raised: one failure must not hide the figures
        out["failures"].append(f"{type(err).__name__}: {err}")
        if not go.is_set():
            _arrived(ready, all_ready)


def _arrived(ready: list[int], all_ready: asyncio.Event) -> None:
    """One more session at the read-back (or out); the last one lets the burst go."""
    ready[0] -= 1
    if ready[0] == 0:
        all_ready.set()


async def _burst_round(port: int, sessions: int, answers: list[str]) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/ws"
    out: dict[str, list[Any]] = {"deliveries": [], "template": [], "failures": []}
    ready = [sessions]  # sessions still walking
    all_ready, go = asyncio.Event(), asyncio.Event()
    slots = asyncio.Semaphore(50)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [
            asyncio.create_task(
                _burst_session(http, url, answers, ready, all_ready, go, out, slots)
            )
            for _ in range(sessions)
        ]
        await all_ready.wait()
        ARMED["hang"] = True
        go.set()  # every session says "yes" now
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=1800)
    return out


def _serve(folder: Path, port: int, environ: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(folder),
        "ASSISTANT_LOG_LEVEL": "info",
        "ASSISTANT_LANGUAGE": "en",
        "ASSISTANT_WEB_VOICE": "false",
        "ASSISTANT_NEW_SESSIONS_PER_ADDRESS": "0",
        **environ,
    }
    cores = sorted(os.sched_getaffinity(0))
    command = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
    if len(cores) >= 2:  # the server on one core, this client on the other
        command = ["taskset", "-c", str(cores[0]), *command]
        os.sched_setaffinity(0, {cores[1]})
    log = (folder / "serve.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def _wait_for(folder: Path, process: subprocess.Popen[bytes], text: str, limit: float) -> float:
    """Seconds until the server's log says ``text``."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if process.poll() is not None:
            raise RuntimeError("the server exited: " + (folder / "serve.log").read_text()[-2000:])
        if text in (folder / "serve.log").read_text(errors="replace"):
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"the server did not log {text!r} within {limit:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(15)
    if process.poll() is None:
        process.kill()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def _burst(label: str, sessions: int, environ: dict[str, str], answers: list[str]) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        process = _serve(folder, port, environ)
        try:
            _wait_for(folder, process, "listening on", 60)
            out = asyncio.run(_burst_round(port, sessions, answers))
        finally:
            _stop(process)
    deliveries = sorted(out["deliveries"])
    if not deliveries:
        print(f"burst_{label}_failed: {out['failures'][:3]}", flush=True)
        return
    p50 = statistics.median(deliveries) * 1000
    p95 = deliveries[min(len(deliveries) - 1, int(0.95 * len(deliveries)))] * 1000
    met = "met" if p50 <= GOAL_TEMPLATE_P50_MS and not out["failures"] else "not met"
    print(
        f"burst_confirm_to_delivery_{label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"goal p50 <= {GOAL_TEMPLATE_P50_MS:.0f} ms: {met}; "
        f"{len(deliveries)} delivered ({sum(out['template'])} template), "
        f"{len(out['failures'])} failures, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for failure in out["failures"][:3]:
        print(f"# {failure}", file=sys.stderr)


def bench_burst(sessions: int, rate: float = 200.0) -> None:
    """Confirm → delivery for ``sessions`` web sessions: the issue's way first (bench_web's
    steady ``rate`` turns/s, so the confirms come at that rate) with the model off and busy,
    then all saying "yes" in the same second: before, after, and after with a busy model."""
    off = {"ASSISTANT_LLM_BACKEND": "none"}
    _steady("model_off", sessions, rate, off)
    with _busy_model_process() as url:
        # The stalled enrichment gives up after 20 s (another then takes the model), so the
        # round's last delivery does not wait out the default minute.
        busy = {"ASSISTANT_OLLAMA_HOST": url, "ASSISTANT_LLM_TIMEOUT_S": "20"}
        _steady("model_busy", sessions, rate, busy)
    _burst("before", sessions, {"ASSISTANT_WARM_UP": "false", "ASSISTANT_WORKERS": "1"}, CAFE)
    _burst("after", sessions, {}, CAFE)
    with _busy_model() as url:
        _burst("after_model_busy", sessions, {"ASSISTANT_OLLAMA_HOST": url}, CAFE)
    print(
        f"burst_goal_template_delivery_p50: <= {GOAL_TEMPLATE_P50_MS:.0f} ms with {sessions} "
        "sessions",
        flush=True,
    )


def _steady(label: str, sessions: int, rate: float, environ: dict[str, str]) -> None:
    """``web_confirm_to_delivery_p50`` as ``scripts/bench_web.py`` measures it (one round)."""
    before = os.getloadavg()[0]
    figures = measure(sessions, rate, 1, environ)
    p50 = float(figures["delivery_p50_ms"])
    met = "met" if p50 <= GOAL_TEMPLATE_P50_MS and not figures["failures"] else "not met"
    print(
        f"web_confirm_to_delivery_p50_{label}: {p50:.0f} ms, goal <= {GOAL_TEMPLATE_P50_MS:.0f} "
        f"ms: {met} ({sessions} sessions at {rate:.0f} turns/s; turn p99 "
        f"{figures['p99_ms']:.1f} ms, server CPU {figures['server_cpu_round_1_s']:.1f} s, "
        f"{figures['failures']} failures; load average {before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after)",
        flush=True,
    )


ARMED: dict[str, bool] = {}  # the busy model stalls only once every session is at confirm
# The prompts of a description, a job choice and a help answer (generators/prompts/): with
# ``enrichment_only`` armed these are refused at once, so a walk is not held by the model.
_INTERACTIVE_PROMPTS = ("You help a voice assistant", "You answer questions")


@contextlib.contextmanager
def _busy_model() -> Any:
    """An Ollama-speaking server whose model never finishes a reply once armed (before, the
    descriptions of the walk are refused at once, so the walk is not slowed): a model busy
    for the whole burst."""
    from testing.ollama import fake_ollama_in_thread
    from testing.ollama.wire import Reply

    def respond(body: dict[str, Any]) -> Reply:
        system = " ".join(
            str(message.get("content", ""))
            for message in body.get("messages", [])
            if message.get("role") == "system"
        )
        writing = not system.startswith(_INTERACTIVE_PROMPTS)  # enrichment: a job's texts
        if ARMED.get("hang") and (writing or not ARMED.get("enrichment_only")):
            return Reply(chunks=["{"], hang_after=0)
        return Reply(chunks=[], status=500, error="not now")

    ARMED.clear()
    with fake_ollama_in_thread(models=["qwen2.5:3b"]) as server:
        server.responder = respond
        yield server.url


_BUSY_PROBE = """
import sys
from scripts.bench_startup import ARMED, _busy_model
with _busy_model() as url:
    ARMED.update(hang=True, enrichment_only=True)
    print(url, flush=True)
    sys.stdin.read()  # until the bench closes it
"""


@contextlib.contextmanager
def _busy_model_process() -> Any:
    """The busy model in a process of its own, writing never finishing from the start while
    descriptions are refused at once: in the bench's process, 2,000 sessions starved it of
    the interpreter and every description waited out its 15 s."""
    process = subprocess.Popen(
        [sys.executable, "-c", _BUSY_PROBE],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()


# -- memory ---------------------------------------------------------------------------------


async def _sessions(port: int, count: int) -> None:
    """``count`` web sessions each walked to the café's read-back."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sockets = []
    for _ in range(count):
        ws = await http.ws_connect(f"http://127.0.0.1:{port}/ws", heartbeat=None)
        await ws.send_json({"type": "hello", "language": "en"})
        await next_replies(ws)
        for text in CAFE:
            await _say(ws, text)
        sockets.append(ws)
    for ws in sockets:
        await ws.close()
    await http.close()


_GGUF_PROBE = """
import sys, time
from pathlib import Path
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
before = rss()
started = time.perf_counter()
import llama_cpp
model = llama_cpp.Llama(model_path=sys.argv[1], n_threads=2, n_ctx=4096, verbose=False)
loaded = time.perf_counter() - started
model.create_chat_completion([{"role": "user", "content": "Say hello."}], max_tokens=8)
print(f"{before:.0f} {rss():.0f} {loaded:.2f}")
"""


def bench_memory() -> None:
    """RSS of the server after start-up, after 50 sessions, the GGUF model, and the kiosk."""
    port = free_port()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        process = _serve(folder, port, {"ASSISTANT_WEB_VOICE": "true"})
        try:
            _wait_for(folder, process, "listening on", 60)
            listening = rss_mb(process.pid)
            warm = _wait_for(folder, process, "warm-up: afterwards", 300)
            started = rss_mb(process.pid)
            asyncio.run(_sessions(port, 50))
            after = rss_mb(process.pid)
        finally:
            _stop(process)
    print(f"serve_rss_listening: {listening:.0f} MB", flush=True)
    print(f"serve_rss_after_start_up: {started:.0f} MB (start-up task took {warm:.1f} s)")
    print(f"serve_rss_after_50_sessions: {after:.0f} MB ({after - started:+.0f} MB)", flush=True)
    gguf = _model_file("qwen2.5-coder-1.5b-instruct-q4_k_m")
    if gguf is not None:
        out = subprocess.run(
            [sys.executable, "-c", _GGUF_PROBE, str(gguf)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if out.returncode == 0:
            before, loaded, seconds = out.stdout.split()[-3:]
            grown = float(loaded) - float(before)
            print(f"llm_qwen_gguf_rss: {grown:.0f} MB (loaded in {seconds} s)", flush=True)
            print(f"serve_rss_with_model_estimate: {started + grown:.0f} MB", flush=True)
        else:
            print(f"llm_qwen_gguf_rss_failed: {out.stderr.strip()[-300:]}", flush=True)
    kiosk = _kiosk_memory()
    if kiosk is not None:
        print(f"kiosk_ja_rss: {kiosk['VmRSS']:.0f} MB (peak {kiosk['VmHWM']:.0f} MB)", flush=True)


def _model_file(name: str) -> Path | None:
    from assistant.speech.models.installed import entry_location, is_installed
    from assistant.speech.models.manifest import DEFAULT_MODELS_DIR, load_manifest

    for entry in load_manifest(DEFAULT_MODELS_DIR / "manifest.yaml"):
        if entry.name == name and is_installed(entry, DEFAULT_MODELS_DIR):
            return entry_location(entry, DEFAULT_MODELS_DIR)
    print(f"{name}: missing (scripts/fetch-models assemble {name})", flush=True)
    return None


def _kiosk_memory() -> dict[str, float] | None:
    """``assistant kiosk --lang ja`` on ALSA's file devices, measured once its start-up task
    has loaded the voices and the recogniser."""
    from scripts.bench_speech import NOISE_LEVEL, process_memory_mb
    from testing.alsa import MicPipe, sound_env, stop_kiosk, write_asoundrc
    from testing.speech_audio import noise

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        home, speaker = folder / "home", folder / "speaker.raw"
        mic = MicPipe(folder / "mic.fifo", lead=0.4)
        write_asoundrc(home, mic.path, speaker)
        env = sound_env(
            home,
            ASSISTANT_DATA_DIR=str(folder / "data"),
            ASSISTANT_LLM_ENABLED="0",
            ASSISTANT_LOG_LEVEL="info",
        )
        command = [sys.executable, "-m", "assistant", "kiosk", "--lang", "ja", "--realtime-input"]
        log_path = folder / "kiosk.log"
        log = log_path.open("w+")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 300
            while "warm-up: speech" not in log_path.read_text(errors="replace"):
                if time.monotonic() > deadline or process.poll() is not None:
                    print("kiosk_ja_rss_failed: " + log_path.read_text()[-1500:], flush=True)
                    return None
                mic.keep_room(lambda seconds: noise(seconds, NOISE_LEVEL))
                time.sleep(0.02)
            return process_memory_mb(process.pid)
        finally:
            stop_kiosk(process, mic, output=log_path)
            log.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voices", action="store_true", help="the voice figures")
    parser.add_argument("--burst", action="store_true", help="the confirm-burst figures")
    parser.add_argument("--memory", action="store_true", help="the memory figures")
    parser.add_argument("--sessions", type=int, default=2000, help="web sessions in the burst")
    parser.add_argument("--rate", type=float, default=200.0, help="turns/s of the steady round")
    args = parser.parse_args(argv)
    every = not (args.voices or args.burst or args.memory)
    if args.voices or every:
        bench_voices()
    if args.burst or every:
        bench_burst(args.sessions, args.rate)
    if args.memory or every:
        bench_memory()


if __name__ == "__main__":
    main()
