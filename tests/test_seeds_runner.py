"""The per-seed runner on the CLI (experiments/run_seeds.py): per-seed results, resume, presets, bad input; and the
summarization study's decoding (sampled log-likelihoods are the model's, low temperature is greedy)."""

import json
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from collapse.errors import require
from collapse.validate import check_fields
from experiments import catalog, gen_loop


@dataclass(frozen=True)
class Toy:
    """A toy driver config."""

    name: str = "toy"
    size: int = 3
    N: tuple[int, ...] = (1, 2)

    def __post_init__(self):
        check_fields(self)
        require(self.size >= 1, "size", self.size, "an integer >= 1")


CALLS = []


def _run(cfg, seed, progress):
    CALLS.append(seed)
    return {"value": float(np.random.default_rng(seed).random() * cfg.size), "N": list(cfg.N)}


def _report(cfg, results):
    return f"{len(results)} seeds, sum {sum(r['value'] for r in results):.6f}\n", b"\x89PNG fake"


STUDY = catalog.Study("toy", "a toy study", "seeds", Toy, {"size": "size", "N": "sizes"}, run=_run, report=_report)
PRESET = catalog.Preset("toy-small", "toy", "a toy preset", "1 s", {"size": 2})


@pytest.fixture
def toy(monkeypatch, tmp_path):
    monkeypatch.setattr(catalog, "_CACHE", {"studies": {"toy": STUDY}, "presets": {"toy-small": PRESET}})
    monkeypatch.chdir(tmp_path)
    CALLS.clear()
    return tmp_path


def test_each_seed_is_saved_and_a_rerun_resumes(toy, capsys):
    args = ["--model", "toy", "--replicates", "3", "--N", "4,5", "--out", "r", "--quiet"]
    assert gen_loop.main(args) == 0
    assert CALLS == [0, 1, 2]
    first = [json.loads((toy / "r" / f"seed-{s}.json").read_text()) for s in range(3)]
    assert first[1]["result"]["N"] == [4, 5] and (toy / "r" / "figure.png").exists()
    (toy / "r" / "seed-1.json").unlink()  # as if interrupted during seed 1
    CALLS.clear()
    assert gen_loop.main(args) == 0
    assert CALLS == [1]  # only the missing seed ran again, with the same numbers
    assert json.loads((toy / "r" / "seed-1.json").read_text()) == first[1]
    record = json.loads((toy / "r" / "config.json").read_text())
    assert record["config"]["config"]["N"] == [4, 5] and "jax" in record["parts"][0]
    assert len(record["parts"]) == 2 and record["first_seed"] == 0 and record["replicates"] == 3


def test_another_config_in_the_same_folder_is_refused_unless_overwritten(toy, capsys):
    assert gen_loop.main(["--model", "toy", "--out", "r", "--quiet"]) == 0
    assert gen_loop.main(["--model", "toy", "--size", "5", "--out", "r", "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert gen_loop.main(["--model", "toy", "--size", "5", "--out", "r", "--quiet", "--overwrite"]) == 0


def test_a_preset_writes_its_report_and_publishes_only_when_asked(toy):
    assert gen_loop.main(["--preset", "toy-small", "--out", "r", "--quiet"]) == 0
    assert "1 seeds" in (toy / "r" / "report.md").read_text() and not (toy / "figures").exists()
    assert gen_loop.main(["--preset", "toy-small", "--out", "r", "--quiet", "--publish"]) == 0
    assert (toy / "figures" / "toy-small.png").exists() and "1 seeds" in (toy / "figures" / "toy-small.md").read_text()


def _exit_code(args):
    try:
        return gen_loop.main(args)
    except SystemExit as stop:  # argparse rejects a value before main's own error handling
        return stop.code


@pytest.mark.parametrize("bad, word", [(["--size", "0"], "size"), (["--replicates", "0"], "replicates"),
                                       (["--N", "x"], "--N"), (["--seed", "-1"], "seed"),
                                       (["--mode", "replace"], "--mode")])
def test_bad_input_is_one_line_and_exit_2(toy, capsys, bad, word):
    assert _exit_code(["--model", "toy", "--out", "r", *bad]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err and "Traceback" not in err


def test_summarize_bad_k_is_refused(capsys):
    assert gen_loop.main(["--model", "summarize", "--k", "0"]) == 2
    assert "k must be" in capsys.readouterr().err


def _tiny_model():
    from collapse.nn import seq2seq as s2s

    cfg = s2s.Seq2SeqConfig(vocab_size=12, src_len=6, tgt_len=5, width=16, heads=2, enc_depth=1, dec_depth=1)
    return s2s.init_model(cfg, 0)


def test_sampled_log_likelihood_is_the_models_and_cold_sampling_is_greedy():
    from collapse.nn import seq2seq as s2s
    from experiments.summarize.loop import sample, sequence_logprob

    graphdef, params = _tiny_model()
    src = jax.random.randint(jax.random.key(1), (4, 6), 3, 12)
    toks, logp = sample(graphdef, params, src, jax.random.key(2), 1.0, length=5, k=3)
    assert toks.shape == (4, 3, 5) and logp.shape == (4, 3)
    again = sequence_logprob(graphdef, params, jnp.repeat(src, 3, axis=0), toks.reshape(12, 5))
    np.testing.assert_allclose(logp.reshape(-1), again, rtol=1e-5, atol=1e-5)
    cold, _ = sample(graphdef, params, src, jax.random.key(3), 1e-6, length=5, k=2)
    greedy, _ = s2s.greedy(graphdef, params, src, length=5)
    np.testing.assert_array_equal(cold[:, 0], greedy)
    np.testing.assert_array_equal(cold[:, 1], greedy)
