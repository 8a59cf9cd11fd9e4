"""Write the malformed-input corpus: tests/corpus/cases/ (the files) and tests/corpus/manifest.json.

    PYTHONPATH=src python3 tests/corpus/make_corpus.py

Every case names what is wrong, the file it uses (or a ``setup`` that makes one at test time:
a FIFO, a directory, a device, a sparse file over a size cap, a link), the CLI call and/or the
API call that reads it, and what must happen: ``error`` (a non-zero exit with a one-line
message; an exception that is the project's error, one line) or ``accept`` (documented in
docs/system.md, *Bad input*: the value is counted as rejected and the call goes on).
tests/test_corpus.py runs every case. The output is deterministic.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from profile_factory import make_profile_dict  # noqa: E402

CASES = HERE / "cases"
DEAD_PID = 4194999  # above the kernel's largest pid_max (4194304): never a live process

cases: list[dict[str, Any]] = []


def add(cid: str, what: str, *, file: str | None = None, setup: str | None = None, cli: list[str] | None = None,
        api: dict[str, Any] | None = None, expect: str = "error") -> None:
    assert not any(c["id"] == cid for c in cases), cid
    cases.append({"id": cid, "what": what, "file": file, "setup": setup, "cli": cli, "api": api, "expect": expect})


def write(name: str, data: str | bytes) -> str:
    p = CASES / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        p.write_text(data)
    else:
        p.write_bytes(data)
    return name


# ============================================================================ profiles
def profile_cases() -> None:
    good = make_profile_dict()

    def prof(cid: str, what: str, doc: Any = None, text: str | bytes | None = None) -> None:
        name = write(f"profile/{cid}.json", text if text is not None else json.dumps(doc))
        add(f"profile-{cid}", what, file=name, cli=["check", "{file}"], api={"fn": "profile_load"})

    def mutate(fn: Any) -> dict[str, Any]:
        d = copy.deepcopy(good)
        fn(d)
        return d

    for cid, what, setup in (("missing", "the profile does not exist", "missing"),
                             ("directory", "a directory given as the profile", "dir"),
                             ("fifo", "a FIFO given as the profile (must not hang)", "fifo"),
                             ("device", "a character device (/dev/zero) given as the profile", "chardev"),
                             ("huge", "a 300 MB (sparse) profile, over the size cap", "sparse:300000000"),
                             ("link-loop", "a symbolic link loop given as the profile", "linkloop")):
        add(f"profile-{cid}", what, file=f"profile/{cid}.json", setup=setup, cli=["check", "{file}"],
            api={"fn": "profile_load"})
    prof("empty", "an empty file", text="")
    prof("bad-utf8", "invalid UTF-8 bytes", text=b'{"format": "alert-profile\xff\xfe"}')
    prof("bom", "a UTF-8 byte-order mark before the JSON", text=b"\xef\xbb\xbf" + json.dumps(good).encode())
    prof("truncated", "JSON cut off in the middle", text=json.dumps(good)[:150])
    prof("deep", "JSON nested 100,000 deep", text="[" * 100_000 + "]" * 100_000)
    prof("deep-object", "objects nested 50,000 deep", text='{"a":' * 50_000 + "1" + "}" * 50_000)
    prof("array", "a JSON array at the top", doc=[good])
    prof("number", "a JSON number at the top", doc=3)
    prof("null", "JSON null", text="null")
    text = json.dumps(good)
    prof("dup-top", "a duplicate top-level key (q_fail twice)", text=text[:-1] + ', "q_fail": 0.9}')
    m0 = json.dumps(good["models"][0])
    prof("dup-model-key", "a duplicate key inside a model (accuracy twice)",
         text=text.replace(m0, m0[:-1] + ', "accuracy": 0.1}'))
    prof("format", "wrong format string", mutate(lambda d: d.update(format="alert-trace")))
    prof("version", "unsupported version", mutate(lambda d: d.update(version=99)))
    prof("version-string", "version as a string", mutate(lambda d: d.update(version="1")))
    prof("no-settings", "settings missing", mutate(lambda d: d.pop("settings")))
    prof("empty-settings", "settings empty", mutate(lambda d: d.update(settings=[])))
    prof("settings-object", "settings is an object", mutate(lambda d: d.update(settings={"a": 1})))
    prof("setting-string", "a setting is a string", mutate(lambda d: d["settings"].__setitem__(0, "10W")))
    prof("setting-no-name", "a setting without a name", mutate(lambda d: d["settings"][0].pop("name")))
    prof("setting-name-number", "a setting name that is a number",
         mutate(lambda d: d["settings"][0].update(name=10)))
    prof("unit", "an unknown unit", mutate(lambda d: [s.update(unit="furlongs") for s in d["settings"]]))
    prof("value-negative", "a negative setting value", mutate(lambda d: d["settings"][0].update(value=-10)))
    prof("value-zero", "a zero setting value", mutate(lambda d: d["settings"][0].update(value=0)))
    prof("value-string", "a setting value as text", mutate(lambda d: d["settings"][0].update(value="10")))
    prof("value-bool", "a setting value true", mutate(lambda d: d["settings"][0].update(value=True)))
    prof("value-nan", "a setting value NaN", text=text.replace('"value": 10.0', '"value": NaN'))
    prof("value-inf", "a setting value Infinity", text=text.replace('"value": 10.0', '"value": Infinity'))
    prof("value-huge-int", "a setting value too large for a float",
         text=text.replace('"value": 10.0', '"value": 1' + "0" * 400))
    prof("idle-negative", "a negative idle power", mutate(lambda d: d["settings"][0].update(idle_power=-1)))
    prof("idle-missing", "idle power missing", mutate(lambda d: d["settings"][0].pop("idle_power")))
    prof("no-models", "models missing", mutate(lambda d: d.pop("models")))
    prof("empty-models", "models empty", mutate(lambda d: d.update(models=[])))
    prof("kind", "an unknown model kind", mutate(lambda d: d["models"][0].update(kind="quantum")))
    prof("acc-high", "accuracy above 1", mutate(lambda d: d["models"][0].update(accuracy=91)))
    prof("acc-negative", "a negative accuracy", mutate(lambda d: d["models"][0].update(accuracy=-0.1)))
    prof("acc-string", "accuracy as text", mutate(lambda d: d["models"][0].update(accuracy="0.9")))
    prof("acc-list-traditional", "a traditional model with a list of accuracies",
         mutate(lambda d: d["models"][0].update(accuracy=[0.8, 0.9])))
    prof("acc-anytime-scalar", "an anytime model with one accuracy number",
         mutate(lambda d: d["models"][2].update(accuracy=0.9)))
    prof("acc-anytime-empty", "an anytime model with no stages", mutate(lambda d: d["models"][2].update(accuracy=[])))
    prof("lat-shape", "latency with one value too few", mutate(lambda d: d["models"][0].update(latency=[0.04])))
    prof("lat-negative", "a negative latency", mutate(lambda d: d["models"][0].update(latency=[-0.04, 0.02])))
    prof("lat-zero", "a zero latency", mutate(lambda d: d["models"][0].update(latency=[0.0, 0.02])))
    prof("lat-nan", "a NaN latency", text=text.replace("[0.04, 0.02]", "[NaN, 0.02]"))
    prof("lat-strings", "latencies as text", mutate(lambda d: d["models"][0].update(latency=["0.04", "0.02"])))
    prof("lat-bools", "latencies true/false", mutate(lambda d: d["models"][0].update(latency=[True, True])))
    prof("lat-null", "a null latency", mutate(lambda d: d["models"][0].update(latency=[None, 0.02])))
    prof("lat-ragged", "a ragged anytime latency table",
         mutate(lambda d: d["models"][2].update(latency=[[0.02, 0.01], [0.06], [0.12, 0.06]])))
    prof("lat-deep", "a latency table nested four deep",
         mutate(lambda d: d["models"][0].update(latency=[[[[0.04]]], [[[0.02]]]])))
    prof("lat-not-increasing", "anytime stage end times that decrease",
         mutate(lambda d: d["models"][2].update(latency=[[0.02, 0.01], [0.01, 0.03], [0.12, 0.06]])))
    prof("lat-huge-int", "a latency too large for a float",
         text=text.replace("[0.04, 0.02]", "[1" + "0" * 400 + ", 0.02]"))
    prof("power-missing", "power missing while the unit is not W",
         mutate(lambda d: [s.update(unit="cores") for s in d["settings"]]))
    prof("power-negative", "a negative power", mutate(lambda d: d["models"][0].update(power=[-5, 10])))
    prof("dup-model-names", "two models with one name", mutate(lambda d: d["models"][1].update(name="small")))
    prof("dup-setting-names", "two settings with one name", mutate(lambda d: d["settings"][1].update(name="10W")))
    prof("mixed-units", "settings in two units", mutate(lambda d: d["settings"][1].update(unit="MHz")))
    prof("qfail-high", "q_fail above 1", mutate(lambda d: d.update(q_fail=2)))
    prof("qfail-missing", "q_fail missing", mutate(lambda d: d.pop("q_fail")))
    prof("metadata-list", "metadata as a list", mutate(lambda d: d.update(metadata=[1, 2])))
    prof("name-number", "a profile name that is a number", mutate(lambda d: d.update(name=5)))
    prof("std-negative", "a negative latency_std", mutate(lambda d: d["models"][0].update(latency_std=[-1, 0])))
    prof("model-string", "a model that is a string", mutate(lambda d: d["models"].__setitem__(0, "small")))
    # the same files through `alert decide`
    for cid in ("dup-top", "deep", "bad-utf8"):
        add(f"decide-profile-{cid}", f"`alert decide` on the profile case {cid}", file=f"profile/{cid}.json",
            cli=["decide", "{file}", "--goal", "min-energy:deadline=0.1,accuracy=0.8"])


# ============================================================================ goals
def goal_cases() -> None:
    goals = {
        "unknown-kind": "fastest:deadline=0.1", "empty": "", "no-colon": "min-energy",
        "no-equals": "min-energy:deadline", "not-number": "min-energy:deadline=soon,accuracy=0.8",
        "nan": "min-energy:deadline=nan,accuracy=0.8", "inf": "min-energy:deadline=inf,accuracy=0.8",
        "negative": "min-energy:deadline=-0.1,accuracy=0.8", "zero": "min-energy:deadline=0,accuracy=0.8",
        "acc-high": "min-energy:deadline=0.1,accuracy=1.5", "acc-negative": "min-energy:deadline=0.1,accuracy=-0.2",
        "dup-key": "min-energy:deadline=0.1,deadline=0.5,accuracy=0.8", "unknown-key": "min-energy:deadline=0.1,speed=3",
        "missing-key": "min-energy:deadline=0.1", "prth-high": "max-accuracy:deadline=0.1,pr_th=1.5",
        "prth-zero": "max-accuracy:deadline=0.1,pr_th=0", "energy-negative": "max-accuracy:deadline=0.1,energy=-2",
        "energy-and-power": "max-accuracy:deadline=0.1,energy=2,power=20", "huge": "min-energy:deadline=1e400,accuracy=0.8",
        "long": "min-energy:" + ",".join(f"k{i}=1" for i in range(3000)), "commas": "min-energy:,,,",
        "unicode": "min-énergie:deadline=0.1", "nul": "min-energy:deadline=0.1\x00,accuracy=0.8",
        "latency-nan-acc": "min-latency:accuracy=nan",
    }
    for cid, g in goals.items():
        add(f"goal-{cid}", f"goal string {g[:40]!r}", cli=["decide", "{laptop}", "--goal", g],
            api={"fn": "parse_goal", "text": g})
    # a goal in a profile-dup file through alert run never gets further than the goal
    add("goal-run-dup-key", "`alert run` with a duplicate goal key",
        cli=["run", "--profile", "{laptop}", "--goal", "min-energy:deadline=0.1,deadline=0.2,accuracy=0.8",
             "--models", "x:y", "--knob", "simulated", "--meter", "simulated", "--log", "{tmp}/log.csv"])


# ============================================================================ traces
def _trace_arrays() -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from alert.evaluation.traces import Trace
    from alert.profile import Profile

    prof = Profile.from_dict(make_profile_dict())
    C, L = prof.shape
    N = 4
    base = prof.t_prof[None] * np.linspace(1.0, 1.3, N)[:, None, None]
    tr = Trace(prof, base, np.broadcast_to(prof.power[None], (N, C, L)).copy(),
               np.broadcast_to(prof.idle_power[None], (N, L)).copy(),
               correct=np.ones((N, C), dtype=np.int8), name="corpus")
    arrays = {"header": np.array(json.dumps(tr.header())), "latency": tr.latency, "power": tr.power,
              "idle_power": tr.idle_power, "correct": tr.correct}
    return tr.header(), arrays


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def trace_cases() -> None:
    header, arrays = _trace_arrays()

    def tr(cid: str, what: str, data: bytes | str, ext: str = "npz") -> None:
        name = write(f"trace/{cid}.{ext}", data)
        add(f"trace-{cid}", what, file=name, cli=["trace", "check", "{file}"], api={"fn": "trace_load"})

    def with_(**kw: Any) -> bytes:
        a = dict(arrays)
        for k, v in kw.items():
            if v is None:
                a.pop(k)
            else:
                a[k] = v
        return _npz(a)

    for cid, what, setup in (("missing", "the trace does not exist", "missing"),
                             ("directory", "a directory given as the trace", "dir"),
                             ("fifo", "a FIFO given as the trace (must not hang)", "fifo"),
                             ("device", "a character device given as the trace", "chardev")):
        add(f"trace-{cid}", what, file=f"trace/{cid}.npz", setup=setup, cli=["trace", "check", "{file}"],
            api={"fn": "trace_load"})
    tr("empty", "an empty .npz", b"")
    good = _npz(arrays)
    tr("truncated", "an .npz cut in half", good[: len(good) // 2])
    tr("not-zip", "text named .npz", "latency,power\n1,2\n")
    tr("no-header", "no header member", with_(header=None))
    tr("no-latency", "no latency member", with_(latency=None))
    tr("header-not-json", "a header that is not JSON", with_(header=np.array("{nope")))
    h = json.dumps(header)
    tr("header-dup", "a header with a duplicate key", with_(header=np.array(h[:-1] + ', "name": "x"}')))
    tr("header-format", "a header of another format", with_(header=np.array(json.dumps({**header, "format": "x"}))))
    tr("header-version", "a header of another version", with_(header=np.array(json.dumps({**header, "version": 7}))))
    bad_prof = {**header, "profile": {**header["profile"], "q_fail": 5}}
    tr("header-profile", "a header whose profile is invalid", with_(header=np.array(json.dumps(bad_prof))))
    tr("header-array", "a header that is an array of strings", with_(header=np.array(["a", "b"])))
    tr("header-deep", "a header nested 100,000 deep", with_(header=np.array("[" * 100_000 + "]" * 100_000)))
    tr("shape", "latency with the wrong number of settings", with_(latency=arrays["latency"][:, :, :1]))
    tr("complex", "complex latencies (the imaginary part would be dropped)",
       with_(latency=arrays["latency"].astype(complex) + 1j))
    tr("object", "a latency member holding Python objects (a pickle)", _object_npz(arrays))
    tr("correct-257", "correct = 257 (wraps to 1 as int8)",
       with_(correct=np.full(arrays["correct"].shape, 257, dtype=np.int16)))
    tr("correct-half", "correct = 0.5", with_(correct=np.full(arrays["correct"].shape, 0.5)))
    tr("state-negative", "a negative contention state", with_(state=np.full(4, -1, dtype=np.int64)))
    lat = arrays["latency"].copy()
    lat[0, 0, 0] = np.nan
    tr("latency-nan", "a NaN latency", with_(latency=lat))
    tr("power-negative", "a negative power", with_(power=-arrays["power"]))
    tr("strings", "latencies stored as text", with_(latency=arrays["latency"].astype(str)))
    tr("bools", "latencies stored as booleans", with_(latency=arrays["latency"] > 0))
    tr("declared-huge", "a member declaring a 262 TiB array in a few bytes", _declared_huge(arrays))
    tr("size-mismatch", "a member whose bytes do not match its declared shape", _size_mismatch(arrays))
    tr("bomb", "1.2 MB compressed that would inflate to 1.25 GiB of latencies", _bomb(arrays))
    # CSV traces
    from alert.evaluation.traces import CSV_COLUMNS

    head = f"# alert-trace {json.dumps(header)}\n"
    cols = ",".join(CSV_COLUMNS) + "\n"
    lab = [c for c in ("small", "big", "any@1", "any@2", "any@3")]
    rows = "".join(f"{n},{c},{s},0.05,10,2,0,1\n" for n in range(2) for c in lab for s in ("10W", "20W"))
    tr("csv-no-header", "a CSV trace without the header comment", cols + rows, "csv")
    tr("csv-header-bad", "a CSV header comment that is not JSON", "# alert-trace {nope\n" + cols + rows, "csv")
    tr("csv-columns", "CSV columns in the wrong order", head + ",".join(reversed(CSV_COLUMNS)) + "\n" + rows, "csv")
    tr("csv-long-field", "a CSV field over 131,072 characters", head + cols + "0,small,10W," + "9" * 200_000 + ",10,2,0,1\n",
       "csv")
    tr("csv-not-number", "a CSV latency that is text", head + cols + rows.replace("0.05", "fast", 1), "csv")
    tr("csv-unknown-label", "a CSV row with an unknown candidate", head + cols + rows.replace("small", "tiny", 1), "csv")
    tr("csv-missing-rows", "a CSV trace with a row missing", head + cols + "".join(rows.splitlines(True)[1:]), "csv")
    tr("csv-correct-257", "a CSV correct flag of 257", head + cols + rows.replace(",0,1\n", ",0,257\n", 1), "csv")
    tr("csv-negative-input", "a CSV input index of -1", head + cols + rows.replace("0,small", "-1,small", 1), "csv")
    tr("csv-bad-utf8", "a CSV trace with invalid UTF-8", (head + cols + rows).encode().replace(b"small", b"sm\xffll", 1),
       "csv")
    tr("csv-nan", "a CSV latency of nan", head + cols + rows.replace("0.05", "nan", 1), "csv")


def _object_npz(arrays: dict[str, np.ndarray]) -> bytes:
    a = dict(arrays)
    a["latency"] = np.array([{"x": 1}], dtype=object)
    b = io.BytesIO()
    np.savez(b, **{k: v for k, v in a.items()})
    return b.getvalue()


def _declared_huge(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz whose latency member's .npy header declares shape (2**42, 5, 2) of float64 (320 TiB)."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for k, v in arrays.items():
            if k == "latency":
                hdr = io.BytesIO()
                np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False,
                                                           "shape": (2**42, 5, 2)})
                z.writestr("latency.npy", hdr.getvalue() + b"\0" * 64)
            else:
                m = io.BytesIO()
                np.save(m, v)
                z.writestr(f"{k}.npy", m.getvalue())
    return b.getvalue()


def _size_mismatch(arrays: dict[str, np.ndarray]) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for k, v in arrays.items():
            m = io.BytesIO()
            np.save(m, v)
            data = m.getvalue()
            z.writestr(f"{k}.npy", data[:-16] if k == "power" else data)
    return b.getvalue()


def _bomb(arrays: dict[str, np.ndarray]) -> bytes:
    """Compressed latencies of 1.25 GiB (zeros compress ~1000:1, about 1.2 MB here): the declared
    shape matches the profile, so only the size cap stops it before inflating."""
    n = (5 << 28) // (5 * 2 * 8)
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in arrays.items():
            if k == "latency":
                hdr = io.BytesIO()
                np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (n, 5, 2)})
                with z.open("latency.npy", "w", force_zip64=True) as f:
                    f.write(hdr.getvalue())
                    chunk = b"\0" * (1 << 24)
                    for _ in range((n * 5 * 2 * 8) // len(chunk)):
                        f.write(chunk)
            else:
                m = io.BytesIO()
                np.save(m, v)
                z.writestr(f"{k}.npy", m.getvalue())
    return b.getvalue()


# ============================================================================ CLI numbers
def cli_number_cases() -> None:
    decide = ["decide", "{laptop}", "--goal", "min-energy:deadline=0.1,accuracy=0.8"]
    for opt, vals in (("--slowdown", ["nan", "-1", "0", "inf", "x"]), ("--sigma", ["nan", "-1", "inf"]),
                      ("--q0", ["inf", "0", "-1", "nan"])):
        for v in vals:
            add(f"cli-decide{opt}={v}", f"alert decide {opt} {v}", cli=decide + [f"{opt}={v}"])
    for opt, vals in (("--inputs", ["-1", "0", "1.5", "abc"]), ("--power", ["0", "-5", "nan"]),
                      ("--slowdown", ["0", "nan"]), ("--seed", ["-1"])):
        for v in vals:
            add(f"cli-demo{opt}={v}", f"alert demo {opt} {v}", cli=["demo", f"{opt}={v}"])
    run = ["run", "--profile", "{cpuq}", "--goal", "max-accuracy:deadline=0.016",
           "--models", "examples/cpu-quota-models.py:models", "--knob", "simulated", "--meter", "simulated",
           "--data", "random", "--log", "{tmp}/log.csv"]
    for opt, vals in (("--batch", ["-1", "0"]), ("--threads", ["-1", "0"]), ("--inputs", ["-1", "0"]),
                      ("--period", ["nan", "-1", "0", "inf"]), ("--cfs-period-us", ["0", "-5", "999", "1000001"]),
                      ("--watts-per-core", ["nan", "0", "-1"]), ("--idle-power", ["-1", "nan"]),
                      ("--contend-workers", ["0", "-2"]), ("--on", ["nan", "-1"]), ("--off", ["-1"])):
        for v in vals:
            add(f"cli-run{opt}={v}", f"alert run {opt} {v}", cli=run + [f"{opt}={v}"])
    add("cli-run-log-missing-folder", "alert run --log into a folder that does not exist",
        cli=run[:-2] + ["--log", "{tmp}/no/such/folder/log.csv"])
    add("cli-run-log-directory", "alert run --log naming a directory", cli=run[:-2] + ["--log", "{tmp}"])
    add("cli-run-models-missing-module", "alert run --models naming a module that does not exist",
        cli=[x if x != "examples/cpu-quota-models.py:models" else "no_such_module_xyz:models" for x in run])
    add("cli-run-models-missing-file", "alert run --models naming a file that does not exist",
        cli=[x if x != "examples/cpu-quota-models.py:models" else "{tmp}/nope.py:models" for x in run])
    add("cli-run-models-no-colon", "alert run --models without :function",
        cli=[x if x != "examples/cpu-quota-models.py:models" else "examples/cpu-quota-models.py" for x in run])
    add("cli-run-models-syntax", "alert run --models naming a file with a syntax error",
        file=write("models/syntax.py", "def models(:\n    return {}\n"),
        cli=[x if x != "examples/cpu-quota-models.py:models" else "{file}:models" for x in run])
    add("cli-run-models-no-function", "alert run --models naming a function that does not exist",
        cli=[x if x != "examples/cpu-quota-models.py:models" else "examples/cpu-quota-models.py:nothing" for x in run])
    prof = ["profile", "--knob", "simulated", "--meter", "simulated", "--data", "random", "--settings", "1",
            "--out", "{tmp}/p.json"]
    for opt, vals in (("--repeats", ["0", "1", "-3"]), ("--warmup", ["-1"]), ("--q-fail", ["2", "nan"]),
                      ("--settle", ["-1"]), ("--idle-window", ["0", "nan"]), ("--accuracy-samples", ["0"])):
        for v in vals:
            add(f"cli-profile{opt}={v}", f"alert profile {opt} {v}", cli=prof + [f"{opt}={v}"])
    for v in ("nan", "-1", "0"):
        add(f"cli-profile--settings={v}", f"alert profile --settings {v}",
            cli=["profile", "--knob", "simulated", "--meter", "simulated", "--settings", v, "--out", "{tmp}/p.json"])
    add("cli-profile-out-missing-folder", "alert profile --out into a folder that does not exist",
        cli=prof[:-1] + ["{tmp}/no/such/p.json"])
    for opt, vals in (("--workers", ["0", "-1"]), ("--on", ["nan", "-1", "inf"]), ("--off", ["-1", "nan"]),
                      ("--duration", ["0", "nan", "-2"]), ("--array-mb", ["0", "nan", "1e12"])):
        for v in vals:
            args = {"--on": "0.1", "--off": "0.1", "--duration": "0.2", "--workers": "1", "--array-mb": "1"}
            args[opt] = v
            add(f"cli-contend{opt}={v}", f"alert contend compute {opt} {v}",
                cli=["contend", "compute"] + [f"{k}={x}" for k, x in args.items()])
    add("cli-contend-on-zero", "alert contend with --on 0 (never on)",
        cli=["contend", "compute", "--on", "0", "--off", "1", "--duration", "0.2"])
    add("cli-reproduce--seed=-1", "alert reproduce --seed -1", cli=["reproduce", "--seed=-1", "--out", "{tmp}/r"])
    for cmd, opt, v in (("train", "--epochs", "0"), ("train", "--lr", "nan"),
                        ("train", "--batch-size", "0"), ("train", "--threads", "-1"),
                        ("export-profile", "--repeats", "0"), ("export-profile", "--threads", "0"),
                        ("export-profile", "--power", "nan")):
        add(f"cli-{cmd}{opt}={v}", f"alert {cmd} {opt} {v}", cli=[cmd, f"{opt}={v}"])
    for sub, opt, v in (("train", "--epochs", "nan"), ("train", "--samples", "-1"), ("profile", "--sentences", "0"),
                        ("trace", "--cfs-period-us", "0"), ("evaluate", "--deadlines", "0")):
        add(f"cli-sentence-{sub}{opt}={v}", f"alert sentence {sub} {opt} {v}", cli=["sentence", sub, f"{opt}={v}"])
    add("cli-trace-generate-inputs", "alert trace generate --inputs 0",
        cli=["trace", "generate", "--inputs", "0", "--out", "{tmp}/t.npz"])


# ============================================================================ state files
def state_cases() -> None:
    def st(cid: str, what: str, text: str | bytes | None, setup: str | None = None, name: str | None = None) -> None:
        fname = name or f"state-{DEAD_PID}.json"
        rel = f"state/{cid}/{fname}"
        if text is not None:
            write(rel, text)
        else:
            (CASES / "state" / cid).mkdir(parents=True, exist_ok=True)
            (CASES / "state" / cid / ".keep").write_text("")
        add(f"state-{cid}", what, file=rel, setup=setup, cli=["restore", "--state-dir", "{dir}"],
            api={"fn": "restore"})

    def doc(*knobs: dict[str, Any], pid: Any = DEAD_PID) -> str:
        return json.dumps({"pid": pid, "started": 0, "argv": [], "knobs": list(knobs)})

    st("not-json", "a state file that is not JSON", "{pid: 1")
    st("empty", "an empty state file", "")
    st("bad-utf8", "a state file with invalid UTF-8", b'{"pid": 4194999, "knobs": ["\xff"]}')
    st("deep", "a state file nested 100,000 deep", "[" * 100_000 + "]" * 100_000)
    st("array", "a state file holding an array", "[]")
    st("dup-key", "a state file with a duplicate key", doc()[:-1] + ', "pid": 1}')
    st("pid-string", "a pid given as text", doc(pid="4194999"))
    st("pid-negative", "a negative pid", doc(pid=-1), name="state-1.json")
    st("pid-mismatch", "a pid that does not match the file name", doc(pid=4194998))
    st("knobs-object", "knobs as an object", json.dumps({"pid": DEAD_PID, "knobs": {"kind": "rapl"}}))
    st("kind-missing", "a snapshot without a kind", doc({"zone": "/sys/class/powercap/intel-rapl:0"}))
    st("kind-unknown", "an unknown knob kind", doc({"kind": "teleporter"}))
    st("rapl-outside", "a RAPL zone outside /sys/class/powercap",
       doc({"kind": "rapl", "zone": "/etc", "files": {"constraint_0_power_limit_uw": 1337}}))
    st("rapl-dotdot", "a RAPL zone with '..'",
       doc({"kind": "rapl", "zone": "/sys/class/powercap/../../../etc",
            "files": {"constraint_0_power_limit_uw": 1337}}))
    st("rapl-file-name", "a RAPL file name that is not a power limit",
       doc({"kind": "rapl", "zone": "/sys/class/powercap/intel-rapl:0", "files": {"../../../../etc/passwd": 1}}))
    st("cpufreq-outside", "a cpufreq file outside /sys/devices/system/cpu",
       doc({"kind": "cpufreq", "files": {"/etc/scaling_max_freq": 800000}}))
    st("cgroup-outside", "a cgroup path that is not an alert cgroup",
       doc({"kind": "cgroup", "version": "v1", "mount": "/sys/fs/cgroup/cpu", "path": "/tmp",
            "origins": {"1": "/"}}))
    st("cgroup-origin-dotdot", "a cgroup origin of '../../..'",
       doc({"kind": "cgroup", "version": "v1", "mount": "/sys/fs/cgroup/cpu", "path": "/sys/fs/cgroup/cpu/alert-4194999",
            "origins": {"1": "../../.."}}))
    st("nvml-index", "an NVML index given as text", doc({"kind": "nvml-power", "index": "0", "limit_mw": 1}))
    st("tmp-live-name", "an unfinished state file name with a live pid is skipped, not restored",
       '{"pid": ', name=".state-1.tmp")
    for cid, what, setup in (("symlink", "a state file that is a symbolic link", "statelink"),
                             ("fifo", "a state file that is a FIFO (must not hang)", "statefifo"),
                             ("huge", "a 2 MB state file (over the 1 MiB cap)", "statehuge"),
                             ("group-writable", "a group-writable state file", "stategroupw"),
                             ("dir-world-writable", "a world-writable state directory", "dirworldw"),
                             ("dir-is-file", "a state directory that is a file", "dirisfile"),
                             ("dir-symlink", "a state directory that is a symbolic link", "dirlink")):
        st(cid, what, doc() if setup not in ("statelink", "statefifo") else None, setup=setup)


# ============================================================================ API calls
def api_cases() -> None:
    obs = [
        ("latency-string", {"latency": "fast"}, "accept"), ("latency-nan", {"latency": {"$float": "nan"}}, "accept"),
        ("latency-negative", {"latency": -1.0}, "accept"), ("latency-zero", {"latency": 0.0}, "accept"),
        ("latency-complex", {"latency": {"$complex": [0.05, 1.0]}}, "accept"),
        ("latency-huge-int", {"latency": {"$int": "1" + "0" * 400}}, "accept"),
        ("latency-bool", {"latency": True}, "accept"), ("latency-none", {"latency": None}, "accept"),
        ("energy-nan", {"latency": 0.05, "energy": {"$float": "nan"}}, "accept"),
        ("energy-negative", {"latency": 0.05, "energy": -3.0}, "accept"),
        ("energy-huge-int", {"latency": 0.05, "energy": {"$int": "1" + "0" * 400}}, "accept"),
        ("idle-string", {"latency": 0.05, "idle_power": "x"}, "accept"),
        ("stage-string", {"latency": 0.05, "stage": "2"}, "error"),
        ("stage-float", {"latency": 0.05, "stage": 1.5}, "error"),
        ("stage-negative", {"latency": 0.05, "stage": -1}, "error"),
        ("period-string", {"latency": 0.05, "period": "x"}, "error"),
        ("period-nan", {"latency": 0.05, "period": {"$float": "nan"}}, "error"),
        ("period-huge-int", {"latency": 0.05, "period": {"$int": "1" + "0" * 400}}, "error"),
        ("elapsed-negative", {"latency": 0.05, "elapsed": -1.0}, "error"),
        ("elapsed-list", {"latency": 0.05, "elapsed": [1, 2]}, "error"),
    ]
    for cid, kw, expect in obs:
        add(f"api-observe-{cid}", f"observe({kw})", api={"fn": "observe", "kwargs": kw}, expect=expect)
    for cid, v in (("string", "min-energy:deadline=0.1,accuracy=0.8"), ("none", None), ("dict", {"deadline": 0.1}),
                   ("number", 0.1)):
        add(f"api-set-goal-{cid}", f"set_goal({v!r})", api={"fn": "set_goal", "value": v})
    add("api-controller-goal-string", "Controller(profile, 'a goal string')", api={"fn": "controller_goal"})
    for cid, v in (("zero", 0), ("negative", -5), ("small", 999), ("large", 1_000_001), ("float", 2.5)):
        add(f"api-cgroup-period-{cid}", f"CgroupConfig(period_us={v})", api={"fn": "cgroup_period", "value": v})
    for cid, w, i in (("nan", "nan", 2.0), ("zero", 0.0, 2.0), ("idle-nan", 10.0, "nan"), ("idle-negative", 10.0, -1.0)):
        add(f"api-cpu-time-meter-{cid}", f"CpuTimeMeter({w}, {i})",
            api={"fn": "cpu_time_meter", "w": {"$float": w} if isinstance(w, str) else w,
                 "idle": {"$float": i} if isinstance(i, str) else i})
    add("api-meter-nan", "a meter that reads NaN during alert's runtime", api={"fn": "runtime_meter", "value": "nan"},
        expect="accept")
    add("api-meter-negative", "a meter that reads -1 J during alert's runtime", api={"fn": "runtime_meter", "value": -1.0},
        expect="accept")
    for cid, text in (("text", "not a pickle"), ("empty", "")):
        add(f"api-weights-{cid}", f"load_weights on a file holding {cid}", file=write(f"weights/{cid}.pt", text),
            api={"fn": "load_weights"})
    add("api-weights-fifo", "load_weights on a FIFO (must not hang)", file="weights/fifo.pt", setup="fifo",
        api={"fn": "load_weights"})
    add("api-weights-directory", "load_weights on a directory", file="weights/dir.pt", setup="dir",
        api={"fn": "load_weights"})
    add("api-make-knob-unknown", "make_knob('teleporter')", api={"fn": "make_knob", "name": "teleporter"})
    add("api-make-meter-unknown", "make_meter('sundial')", api={"fn": "make_meter", "name": "sundial"})


def main() -> int:
    if CASES.exists():
        shutil.rmtree(CASES)
    CASES.mkdir(parents=True)
    profile_cases()
    goal_cases()
    trace_cases()
    cli_number_cases()
    state_cases()
    api_cases()
    manifest = {"about": "malformed inputs; generated by tests/corpus/make_corpus.py, run by tests/test_corpus.py",
                "cases": cases}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    n_cli = sum(c["cli"] is not None for c in cases)
    n_api = sum(c["api"] is not None for c in cases)
    print(f"{len(cases)} cases ({n_cli} through the CLI, {n_api} through the API) in {CASES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
