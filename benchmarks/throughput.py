"""Evaluator speed, every ratio measured within one run of this script.

    python -m benchmarks.throughput [--examples 100] [--parts overhead prefix rerun latency]

- overhead: the Evaluator (litellm, cache, store, parsing, scoring) vs a plain llama-cpp-python
  loop over the same prompts rendered in advance, on the embedded model, alternating rounds;
- prefix: one key across many examples in a row vs the same calls interleaved across keys;
- rerun: a finished search run again on the same store (every call served by the cache);
- latency: a backend that waits 200 ms per call (benchmarks/fake_api.py, reached through litellm
  as a hosted API) at concurrency 1, 4 and 16, with the process's peak resident memory.

Writes results/benchmarks/throughput.csv and throughput.md (one row per measurement).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from promptsearch.core.key import LABEL_MAX_TOKENS
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.lm.client import LOCAL_MODELS, LM
from promptsearch.pipeline.prepare import prepare
from promptsearch.search.space import Point
from promptsearch.storage.store import Store, default_url

from .fake_api import FakeAPI
from .harness import append_row, markdown_table, provenance
from .strategies import configured

COLUMNS = ["measurement", "setting", "calls", "seconds", "calls_per_s", "ratio", "target",
           "met", "peak_rss_mib"]
PARTS = ("overhead", "prefix", "rerun", "latency")
MODEL = "local/gemma-3-270m"
FAKE_MODEL = "text-completion-openai/fake"


def _sentiment(examples: int, dev_size: int = 20):
    task = configured("sentiment", "random", 60, 0, None, dev_size=dev_size)
    prepared = prepare(task, None)
    return task, prepared, prepared.dataset.test[:examples]


def _fresh_store(folder: Path, name: str) -> Store:
    return Store(default_url(folder / name))


def _rate(calls: int, seconds: float) -> float:
    return round(calls / seconds, 2) if seconds else 0.0


def measure_overhead(folder: Path, examples: int, rounds: int) -> list[dict]:
    _, prepared, chosen = _sentiment(examples)
    key = prepared.space.key(Point(0, 0, 4, "random", 0, 0))
    tokens = min(prepared.max_tokens, LABEL_MAX_TOKENS)
    prompts = [key.render(**example.inputs) for example in chosen]
    from llama_cpp import Llama

    path, _ = LOCAL_MODELS.resolve("gemma-3-270m")
    plain = Llama(model_path=path, n_threads=2, n_threads_batch=2, n_ctx=4096, verbose=False,
                  seed=0)
    plain_times, framework_times, same = [], [], 0
    for round_number in range(rounds):
        started = time.perf_counter()
        texts = [plain.create_completion(p, max_tokens=tokens, temperature=0.0,
                                         stop=key.stop)["choices"][0]["text"] for p in prompts]
        plain_times.append(time.perf_counter() - started)
        store = _fresh_store(folder, f"overhead-{round_number}")
        lm = LM(MODEL, cache=store)
        evaluator = Evaluator(lm, prepared.metric, store, "bench", max_tokens=prepared.max_tokens)
        started = time.perf_counter()
        evaluator.score(key, chosen, "test")
        framework_times.append(time.perf_counter() - started)
        completions = [row["completion"] for row in
                       sorted(store.get_evaluations("bench", key.id, "test").values(),
                              key=lambda row: row["position"])]
        same = sum(a == b for a, b in zip(texts, completions))
    plain_s, framework_s = statistics.median(plain_times), statistics.median(framework_times)
    ratio = round(plain_s / framework_s, 3)
    note = f"median of {rounds} alternating rounds; {same}/{len(prompts)} identical completions"
    return [_row("plain llama-cpp-python loop", "prompts rendered in advance", len(prompts),
                 plain_s),
            _row("evaluator", "fresh cache and store each round", len(prompts), framework_s),
            _row("evaluator ÷ plain loop, calls/s", note, len(prompts), framework_s, ratio,
                 "≥ 0.95", ratio >= 0.95)]


def measure_prefix(examples: int) -> list[dict]:
    _, prepared, chosen = _sentiment(examples)
    keys = [prepared.space.key(Point(0, 0, 4, "random", demo_set, 0)) for demo_set in range(4)]
    lm = LM(MODEL, cache=None)  # every call reaches the model
    tokens = min(prepared.max_tokens, LABEL_MAX_TOKENS)
    orders = {
        "key by key": [(k, e) for k in keys for e in chosen],
        "interleaved": [(k, e) for e in chosen for k in keys],
    }
    seconds = {}
    for name, calls in orders.items():
        started = time.perf_counter()
        for key, example in calls:
            lm.complete(prompt=key.render(**example.inputs), max_tokens=tokens, stop=key.stop)
        seconds[name] = time.perf_counter() - started
    calls = len(keys) * len(chosen)
    ratio = round(seconds["interleaved"] / seconds["key by key"], 2)
    return [_row("prefix order: key by key", f"{len(keys)} keys × {len(chosen)} examples",
                 calls, seconds["key by key"]),
            _row("prefix order: interleaved", "each example through every key in turn", calls,
                 seconds["interleaved"]),
            _row("key-by-key speed-up over interleaved", "llama.cpp reuses the shared prefix",
                 calls, seconds["key by key"], ratio, "> 1", ratio > 1)]


def measure_rerun(folder: Path) -> list[dict]:
    from promptsearch import run

    task, _, _ = _sentiment(0)
    results = folder / "rerun"
    store = Store(default_url(results))
    timings, calls = [], []
    for _ in range(2):
        started = time.perf_counter()
        result = run(task, store=store, results_dir=results)
        timings.append(time.perf_counter() - started)
        calls.append(result.lock["spent"]["model_calls"])
    ratio = round(timings[0] / timings[1], 1)
    logical = result.lock["spent"]["lm_calls"] + result.lock["spent"]["test_calls"]
    return [_row("search, first run", "sentiment, random, 60 dev calls + test", calls[0],
                 timings[0]),
            _row("search, cached re-run", f"{calls[1]} model calls, {logical} logical",
                 logical, timings[1]),
            _row("cached re-run speed-up", "same store, same config and seed", logical,
                 timings[1], ratio, "≥ 50", ratio >= 50)]


def measure_latency(folder: Path, examples: int, latency: float,
                    levels=(1, 4, 16)) -> list[dict]:
    _, prepared, _ = _sentiment(0)
    chosen = (prepared.dataset.test + prepared.dataset.pool)[:examples]
    key = prepared.space.key(Point(0, 0, 2, "random", 0, 0))
    rows, base = [], None
    os.environ.setdefault("OPENAI_API_KEY", "sk-fake-benchmark")  # the fake server ignores it
    _price_fake_model()
    with FakeAPI(latency) as api:
        for level in levels:
            store = _fresh_store(folder, f"latency-{level}")
            lm = LM(FAKE_MODEL, cache=store, api_base=api.base_url)
            lm.complete(prompt="warm-up", max_tokens=1)  # connect: steady state is measured
            evaluator = Evaluator(lm, prepared.metric, store, "bench",
                                  max_tokens=prepared.max_tokens, concurrency=level)
            with peak_rss() as peak:
                started = time.perf_counter()
                score = evaluator.score(key, chosen, "test")
                seconds = time.perf_counter() - started
            base = base or seconds
            ratio = round(base / seconds, 2)
            target, met = ("≥ 12", ratio >= 12) if level == 16 else ("", "")
            rows.append(_row(f"latency-bound backend, concurrency {level}",
                             f"{latency * 1000:.0f} ms per call, {score.errors} errors",
                             len(chosen), seconds, ratio, target, met, peak["mib"]))
    return rows


def _price_fake_model() -> None:
    """Give the fake model a (zero) price, as litellm's table has for every hosted model: for
    an unknown name litellm's cost lookup tries ~2,000 name patterns per call, a cost a real
    API's calls do not pay."""
    import logging

    import litellm

    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    price = {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
             "litellm_provider": "text-completion-openai", "mode": "completion"}
    litellm.register_model({FAKE_MODEL: price, FAKE_MODEL.split("/", 1)[1]: price})


@contextmanager
def peak_rss(interval: float = 0.01):
    """The highest resident set size of this process while the block runs (sampled)."""
    found = {"mib": _rss_mib()}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            found["mib"] = max(found["mib"], _rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield found
    finally:
        done.set()
        sampler.join()
        found["mib"] = round(max(found["mib"], _rss_mib()), 1)


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _row(measurement, setting, calls, seconds, ratio="", target="", met="", peak="") -> dict:
    return {"measurement": measurement, "setting": setting, "calls": calls,
            "seconds": round(seconds, 3), "calls_per_s": _rate(calls, seconds), "ratio": ratio,
            "target": target, "met": met, "peak_rss_mib": peak}


def write(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "throughput.csv"
    csv_path.unlink(missing_ok=True)  # every ratio comes from one run: no rows carried over
    for row in rows:
        append_row(csv_path, row, COLUMNS)
    header = ("# Evaluator throughput (one run of `python -m benchmarks.throughput`)\n\n"
              "Ratios compare measurements taken in the same run on the same (shared, noisy) "
              "machine; absolute calls/s vary from run to run.\n\n")
    (out / "throughput.md").write_text(header + markdown_table(rows, COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="test examples per pass")
    parser.add_argument("--rounds", type=int, default=3, help="alternating overhead rounds")
    parser.add_argument("--latency", type=float, default=0.2, help="fake backend seconds/call")
    parser.add_argument("--latency-calls", type=int, default=192,
                        help="calls per concurrency level on the fake backend")
    parser.add_argument("--parts", nargs="*", choices=PARTS, default=list(PARTS))
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if "overhead" in args.parts:
            rows += measure_overhead(folder, args.examples, args.rounds)
        if "prefix" in args.parts:
            rows += measure_prefix(max(10, args.examples // 4))
        if "rerun" in args.parts:
            rows += measure_rerun(folder)
        if "latency" in args.parts:
            rows += measure_latency(folder, args.latency_calls, args.latency)
    write(rows, args.out)
    for row in rows:
        print(f"{row['measurement']}: {row['calls_per_s']} calls/s"
              + (f", ratio {row['ratio']}" if row["ratio"] != "" else ""))


if __name__ == "__main__":
    main()
