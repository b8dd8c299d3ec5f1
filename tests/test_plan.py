"""`promptsearch plan`: calls per phase that add up to the budget, candidates, the detectable
difference from scipy's binomial, warnings, the JSON document, and the plan `run` prints."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import write_task, write_upper_task

from benchmarks.fake_api import _body as fake_body
from promptsearch.cli.main import main
from promptsearch.core.stats import detectable_rise
from promptsearch.pipeline.plan import make_plan, static_warnings
from promptsearch.pipeline.prepare import prepare
from promptsearch.storage.store import Store, default_url
from promptsearch.task.config import load_task


def _plan_json(task, results, capsys, *extra) -> dict:
    code = main(["plan", str(task), "--results", str(results), "--format", "json", *extra])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)  # stdout holds the JSON document and nothing else


def test_phases_add_up_to_the_budget_and_test_is_apart(upper_task, tmp_path, fake_model,
                                                       capsys):
    plan = _plan_json(upper_task, tmp_path / "results", capsys)
    phases = {phase["name"]: phase for phase in plan["phases"]}
    assert phases["seed baseline on dev"]["calls"] == 10  # one seed x dev_size 10
    assert phases["proposer set-up"]["calls"] == 4        # tpe paraphrases the seed 4 ways
    assert plan["search_calls"] == 120                    # the whole budget, no more
    assert phases["finalists on test"]["calls"] == (3 + 1) * 20
    assert plan["test_calls"] == 80 and not phases["finalists on test"]["in_budget"]
    # 106 calls left at 10 per candidate (tpe calls no proposer per candidate), plus the seed
    assert plan["candidates"] == 1 + 106 // 10
    assert plan["candidates_racing"] == 1 + 106 // 3     # every candidate stopped at 1/3 of dev
    assert plan["racing"] is False
    assert plan["seconds_per_call"] > 0 and "probe" in plan["speed_source"]
    assert fake_model.calls == 4                          # the probe's calls, nothing else
    assert not (tmp_path / "results").exists()            # a plan creates no store


def test_detectable_rise_matches_a_direct_power_computation():
    # The power at the returned rise, recomputed from scipy's binomial distribution by summing
    # over every outcome: it is >= 0.8, and just below the rise it is < 0.8.
    from scipy import stats

    def power(n, base, rise):
        wins, losses = (base + rise) * (1 - base), base * (1 - base - rise)
        total = 0.0
        for discordant in range(n + 1):
            significant = [w for w in range(discordant + 1) if discordant
                           and stats.binomtest(w, discordant, 0.5, "greater").pvalue <= 0.05]
            needed = significant[0] if significant else discordant + 1
            share = wins / (wins + losses)
            total += (stats.binom.pmf(discordant, n, wins + losses)
                      * stats.binom.sf(needed - 1, discordant, share))
        return total

    for n, base in ((30, 0.5), (50, 0.2), (100, 0.0)):
        rise = detectable_rise(n, base)
        assert power(n, base, rise) >= 0.8 - 1e-6
        assert power(n, base, rise - 0.01) < 0.8
    assert detectable_rise(30, 0.5) > 0.3  # 30 dev examples cannot separate keys 0.05 apart
    assert detectable_rise(15, 0.8) is None  # no rise up to 1.0 is found with 80% power


def test_plan_uses_the_stores_speed_and_seed_score(upper_task, tmp_path, fake_model, capsys):
    results = tmp_path / "results"
    assert main(["run", str(upper_task), "--results", str(results), "--quiet"]) == 0
    capsys.readouterr()
    calls = fake_model.calls
    plan = _plan_json(upper_task, results, capsys, "--no-probe")
    assert fake_model.calls == calls  # --no-probe: no model call
    assert plan["speed_source"].startswith("recorded")
    store = Store(default_url(results), read_only=True)
    seed = prepare(load_task(upper_task), None).seed_key()
    recorded = [c["dev_score"] for r in store.list_runs() for c in store.list_candidates(r["id"])
                if c["key_id"] == seed.id]
    assert plan["detectable"][0]["base"] == pytest.approx(min(recorded[-1], 0.99))
    assert plan["detectable"][0]["base_source"] == "the seed's recorded dev score"


def test_warnings_name_the_setting_to_change(tmp_path, fake_model, monkeypatch):
    task = write_upper_task(tmp_path)
    text = task.read_text().replace("lm_calls: 120", "lm_calls: 5").replace(
        "model: fake/scripted", "model: openai/base-model\nlm: {api_key_env: MY_KEY, "
                                "api_base: 'http://127.0.0.1:9/v1'}").replace(
        "  style: completion\n", "")
    monkeypatch.delenv("MY_KEY", raising=False)
    warnings = static_warnings(prepare(load_task(write_task(tmp_path, text)), None))
    assert any("lm_calls (5) is below the dev size (10)" in w for w in warnings)
    assert any("MY_KEY, which is not set" in w for w in warnings)
    assert any("set prompt.style: completion" in w for w in warnings)


def test_few_candidates_and_a_short_time_budget_warn(tmp_path, fake_model):
    task = write_upper_task(tmp_path)
    text = task.read_text().replace("lm_calls: 120", "lm_calls: 40, minutes: 0.0001")
    prepared = prepare(load_task(write_task(tmp_path, text)), None)
    plan = make_plan(prepared, None, probe=True)
    assert any("fewer than 5" in w for w in plan.warnings), plan.warnings
    assert any("search.budget.minutes" in w and "ends the search" in w for w in plan.warnings)


def test_run_prints_its_plan_first_and_quiet_hides_it(upper_task, tmp_path, fake_model, capsys):
    assert main(["run", str(upper_task), "--results", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("plan: 120 LM calls in the search") and "on test" in err
    assert "tells apart a rise of" in err
    assert main(["run", str(upper_task), "--results", str(tmp_path / "b"), "--quiet"]) == 0
    assert "plan:" not in capsys.readouterr().err


def test_validate_says_the_style_and_warns_without_a_model_call(tmp_path, fake_model, capsys):
    task = write_upper_task(tmp_path)
    small = write_task(tmp_path, task.read_text().replace("lm_calls: 120", "lm_calls: 30"))
    assert main(["validate", str(small)]) == 0
    out = capsys.readouterr().out
    assert "completion-style prompts" in out
    assert "warning: the budget scores only about" in out
    assert fake_model.calls == 0


def test_plan_table_names_every_phase(upper_task, tmp_path, fake_model, capsys):
    assert main(["plan", str(upper_task), "--results", str(tmp_path), "--no-probe"]) == 0
    out = capsys.readouterr().out
    for phase in ("seed baseline on dev", "proposer set-up", "finalists on test"):
        assert phase in out
    assert "time: unknown" in out and "no price known" in out
    assert "exact sign test" in out


class _Recorder(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that records each request's path and body."""

    seen: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, body))
        payload = json.dumps(fake_body(self.path, body, " POSITIVE")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.seen = []
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_completion_style_reaches_v1_completions_and_chat_is_flagged(tmp_path, recorder,
                                                                     capsys):
    base = write_upper_task(tmp_path).read_text().replace(
        "model: fake/scripted", f"model: openai/my-base-model\nlm: {{api_base: '{recorder}'}}")
    chat = write_task(tmp_path, base.replace("  style: completion\n", ""), "chat.yaml")
    assert main(["validate", str(chat)]) == 0
    out = capsys.readouterr().out
    assert "chat-style prompts" in out and "set prompt.style: completion" in out
    completion = write_task(tmp_path, base, "completion.yaml")
    assert main(["validate", str(completion)]) == 0
    assert "prompt.style" not in capsys.readouterr().out
    assert main(["eval", str(completion), "--prompt", "Write the word in capitals.",
                 "--results", str(tmp_path / "r")]) == 0
    paths = {path for path, _ in _Recorder.seen}
    assert paths == {"/v1/completions"}
    assert all("prompt" in body and "messages" not in body for _, body in _Recorder.seen)


def test_a_time_only_budget_becomes_calls_at_the_measured_speed(tmp_path, fake_model):
    task = write_upper_task(tmp_path)
    text = task.read_text().replace("lm_calls: 120", "lm_calls: null, minutes: 0.05")
    plan = make_plan(prepare(load_task(write_task(tmp_path, text)), None), None, probe=True)
    assert plan.search_calls == int(0.05 * 60 / plan.seconds_per_call)
    assert "minutes allows at the measured speed" in plan.phases[2].note
    unprobed = make_plan(prepare(load_task(write_task(tmp_path, text)), None), None,
                         probe=False)
    assert unprobed.search_calls == 0 and "no measured speed" in unprobed.phases[2].note
