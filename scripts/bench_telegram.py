"""Telegram benchmark: the production bot against an in-process Bot API server on 127.0.0.1.

N chats (default 100) each walk the quiz job by typing, at once, each user taking a second
to read a reply before answering (``--think 0`` answers at once, and then most of a turn is
the wait for Telegram's limit), and then wait for what they asked for: the artifact is
generated (templates, no browser check) and delivered as the zip and the QR code photo.

The latency of a turn is from the moment its update came back from ``getUpdates`` to
Telegram confirming the reply (measured by the bot): it includes writing the update and the
reply to the ledger, and waiting for Telegram's one-message-a-second-per-chat limit when a
chat is quick. Throughput counts whole jobs, from the first message to the photo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import PROJECT_ROOT  # noqa: E402
from assistant.dialog.manager import DialogManager  # noqa: E402
from assistant.generation.queue import GenerationQueue  # noqa: E402
from assistant.jobs.loader import load_jobs  # noqa: E402
from assistant.jobs.phrases import load_phrases  # noqa: E402
from assistant.store.sqlite import SQLiteStore  # noqa: E402
from channels.telegram.bot import TelegramChannel  # noqa: E402
from generators.registry import build_generators  # noqa: E402
from generators.template import TemplateRenderer  # noqa: E402
from testing.telegram import FakeBotApi  # noqa: E402

TOKEN = "123456:BENCH"
SCRIPT = ["/start", "4", "Animal quiz", "1", "5", "yes"]  # up to the read-back; then "yes"


async def _chat(api: FakeBotApi, chat_id: int, think: float) -> float:
    """One user's whole job; returns seconds from "yes" to the QR code photo."""
    for text in SCRIPT:
        after = len(api.sent)
        api.push_text(chat_id, text)
        await api.wait_for(method="sendMessage", chat_id=chat_id, after=after, timeout=300)
        await asyncio.sleep(think)  # a person reads the reply before answering
    confirmed = time.perf_counter()
    after = len(api.sent)
    api.push_text(chat_id, "yes")
    await api.wait_for(method="sendDocument", chat_id=chat_id, after=after, timeout=300)
    await api.wait_for(method="sendPhoto", chat_id=chat_id, after=after, timeout=300)
    return time.perf_counter() - confirmed


async def run(chats: int, folder: Path, think: float) -> dict[str, float]:
    store = SQLiteStore(folder / "bench.db")
    await store.open()
    jobs = load_jobs(PROJECT_ROOT / "dialogs" / "jobs")
    manager = DialogManager(
        jobs=jobs,
        phrases=load_phrases(PROJECT_ROOT / "dialogs" / "locales"),
        store=store,
        default_language="en",
    )
    queue = GenerationQueue(
        store=store,
        jobs=jobs,
        generators=build_generators(TemplateRenderer(), None),
        artifacts_dir=folder / "artifacts",
        on_delivered=manager.deliver,
        on_failed=manager.generation_failed,
        on_progress=manager.progress,
    )
    manager.on_enqueue = queue.wake
    await queue.start()
    async with FakeBotApi(token=TOKEN) as api:
        bot = TelegramChannel(
            manager,
            manager.writer.phrases,
            store,
            ledger=store.telegram_ledger,
            token=TOKEN,
            api_url=api.base_url,
        )
        task = asyncio.create_task(bot.run_polling(polling_timeout=1))
        try:
            await _chat(api, 1, think)  # warm-up: imports, first queries, first artifact
            bot.turn_times.clear()
            started = time.perf_counter()
            deliveries = await asyncio.gather(*(_chat(api, 1000 + n, think) for n in range(chats)))
            elapsed = time.perf_counter() - started
        finally:
            await bot.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await queue.stop()
    await store.close()
    times = bot.turn_times
    return {
        "turns": len(times),
        "p50": statistics.median(times) * 1000,
        "p99": statistics.quantiles(times, n=100, method="inclusive")[98] * 1000,
        "throughput": len(times) / elapsed,
        "jobs_per_minute": chats / elapsed * 60,
        "delivery_p50": statistics.median(deliveries),
        "delivery_max": max(deliveries),
        "elapsed": elapsed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=100, help="chats talking at once")
    parser.add_argument(
        "--think", type=float, default=1.0, help="seconds a user takes before answering"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(run(args.chats, Path(folder), args.think))
    n = args.chats
    print(f"telegram_update_to_reply_p50_{n}_chats: {figures['p50']:.1f} ms")
    print(f"telegram_update_to_reply_p99_{n}_chats: {figures['p99']:.1f} ms")
    print(f"telegram_turns_per_second_{n}_chats: {figures['throughput']:.1f} turns/s")
    print(f"telegram_turns_{n}_chats: {figures['turns']:.0f}")
    print(f"telegram_jobs_per_minute_{n}_chats: {figures['jobs_per_minute']:.1f} (to the photo)")
    print(f"telegram_yes_to_photo_p50_{n}_chats: {figures['delivery_p50']:.1f} s")
    print(f"telegram_yes_to_photo_max_{n}_chats: {figures['delivery_max']:.1f} s")
    print(f"telegram_elapsed_{n}_chats: {figures['elapsed']:.1f} s")


if __name__ == "__main__":
    main()
