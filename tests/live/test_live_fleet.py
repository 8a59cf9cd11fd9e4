"""Ray Serve: a local cluster (2 CPUs, loopback only), 2 replicas with one controller each, JSON
requests with mixed per-request goals, a malformed request, and LoadGen over HTTP against it;
then the cluster is stopped. The request parsing is also checked without Ray."""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from live_fakes import profile

from alert.goals import MaximizeAccuracy, MinimizeEnergy
from alert.live.fleet import RequestError, parse_goal_json, parse_request

ROOT = Path(__file__).resolve().parents[2]

MODELS = '''
import sys
sys.path.insert(0, {here!r})
from live_fakes import AnytimeSleeper, Sleeper


def models():
    return {{"trad": Sleeper({trad}), "any": AnytimeSleeper([0.001, 0.001])}}
'''


def test_goal_and_request_schema() -> None:
    assert parse_goal_json({"deadline": 0.05, "accuracy": 0.9}) == MinimizeEnergy(0.05, 0.9)
    assert parse_goal_json({"deadline": 0.05, "power": 3, "pr_th": 0.9}) == MaximizeAccuracy(0.05, power=3, pr_th=0.9)
    assert parse_goal_json({"deadline": 0.05}) == MaximizeAccuracy(0.05)
    for bad, msg in [({"accuracy": 0.9}, "goal.deadline: missing"),
                     ({"deadline": 0.05, "accuracy": 0.9, "energy": 1}, "not both"),
                     ({"deadline": -1}, "deadline must be a finite number > 0"),
                     ({"deadline": 0.05, "acc": 0.9}, r"unknown field\(s\) \['acc'\]"),
                     ([0.05], "expected an object")]:
        with pytest.raises(RequestError, match=msg):
            parse_goal_json(bad)
    pytest.importorskip("torch")
    x, goal, label = parse_request({"input": [[1, 2], [3, 4]], "goal": {"deadline": 0.1}, "label": [0, 1]})
    assert tuple(x.shape) == (2, 2) and str(x.dtype) == "torch.float32" and label.tolist() == [0, 1]
    for bad, msg in [({"goal": {"deadline": 0.1}}, "input: missing"),
                     ({"input": [1, 2], "goal": {"deadline": 0.1}}, r"shape \(2,\)"),
                     ({"input": [[1], [2, 3]], "goal": {"deadline": 0.1}}, "not a rectangular"),
                     ({"input": [[1]], "goal": {"deadline": 0.1}, "label": [0, 1]}, "expected 1 integer"),
                     ({"input": [[1]], "goal": {"deadline": 0.1}, "x": 1}, "unknown field"),
                     ({"input": [[1]], "goal": {"deadline": 0.1}, "sent_at": "now"}, "sent_at: expected"),
                     ({"input": [[1]], "goal": {"deadline": 0.1}, "sent_at": float("nan")}, "sent_at: expected"),
                     ({"input": [[1]], "goal": {"deadline": 0.1}, "sent_at": 10 ** 400}, "sent_at: expected"),
                     ({"input": [[1]], "goal": {"deadline": 0.1}, "sent_at": True}, "sent_at: expected"),
                     # an integer past any float, an empty sample, more dimensions than an input has
                     ({"input": [[10 ** 400]], "goal": {"deadline": 0.1}}, "not a rectangular"),
                     ({"input": [[]], "goal": {"deadline": 0.1}}, r"shape \(1, 0\)"),
                     ({"input": [[[[[[[[[1]]]]]]]]], "goal": {"deadline": 0.1}}, "at most 8 dimensions"),
                     # strings and booleans are no numbers; labels: ragged, negative, past any class index
                     ({"input": [["1", "2"]], "goal": {"deadline": 0.1}}, "not a rectangular nested list of numbers"),
                     ({"input": [[True, False]], "goal": {"deadline": 0.1}}, "not a rectangular"),
                     ({"input": [[1.0]], "goal": {"deadline": 0.1}, "label": [[1], 2]}, "integer class indices"),
                     ({"input": [[1.0]], "goal": {"deadline": 0.1}, "label": [-1]}, "integer class indices >= 0"),
                     ({"input": [[1.0]], "goal": {"deadline": 0.1}, "label": [2 ** 63]}, "integer class indices")]:
        with pytest.raises(RequestError, match=msg):
            parse_request(bad)


def test_a_replica_counts_the_deadline_from_sent_at(tmp_path: Path) -> None:
    """Without Ray: a request sent 20 ms before it reached the replica has 20 ms less, and keeps
    20 ms more for the way back, to plan with, and is judged from its sending; one without
    ``sent_at`` from its arrival."""
    pytest.importorskip("torch")
    import time

    from alert.live.fleet import FleetConfig, Replica

    # a 2 ms model: planned for 10 ms it fits even when a loaded machine wakes a 2 ms sleep late
    prof = profile({"trad": ([0.9], [0.002]), "any": ([0.6, 0.8], [0.001, 0.001])})
    prof.save(tmp_path / "profile.json")
    (tmp_path / "models.py").write_text(MODELS.format(here=str(Path(__file__).resolve().parent), trad=0.002))
    rep = Replica(FleetConfig(f"{tmp_path}/models.py:models", str(tmp_path / "profile.json"), knob="simulated",
                              meter="simulated"))
    try:
        body = {"input": [[1.0, 0.0, 0.0, 0.0]], "goal": {"deadline": 0.05}}
        plain = rep.handle(body)
        assert plain["queue_s"] < 0.01 and plain["deadline_s"] > 0.04 and plain["model"] == "trad"
        # sent 20 ms ago: 30 ms left, and as long as the way in is kept for the way back, so the
        # controller plans for 10 ms (the 2 ms model still fits), and the deadline is judged here
        late = rep.handle({**body, "sent_at": time.time() - 0.020})
        assert late["queue_s"] >= 0.020 and 0.008 <= late["deadline_s"] <= 0.010 and late["model"] == "trad"
        assert late["total_s"] >= 0.020 + late["response_s"] - 1e-9 and late["goals_met"]["deadline"]
        gone = rep.handle({**body, "sent_at": time.time() - 0.049})  # 1 ms left: the anytime model
        assert gone["model"] == "any" and gone["deadline_s"] <= 0.001
        ahead = rep.handle({**body, "sent_at": time.time() + 5.0})  # a client clock ahead: arrival counts
        assert ahead["queue_s"] < 0.01 and ahead["deadline_s"] > 0.04
        with pytest.raises(RequestError, match="clock disagrees"):  # 1970: not a transit
            rep.handle({**body, "sent_at": 1.0})
    finally:
        rep.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: object) -> tuple[int, dict]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)


@pytest.mark.serve
@pytest.mark.torch
def test_ray_serve_two_replicas_mixed_goals_and_loadgen_over_http(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    ray = pytest.importorskip("ray")
    serve = pytest.importorskip("ray.serve")
    from alert.live.fleet import FleetConfig, build_app

    prof = profile({"trad": ([0.9], [0.004]), "any": ([0.6, 0.8], [0.001, 0.001])})
    prof.save(tmp_path / "profile.json")
    (tmp_path / "models.py").write_text(MODELS.format(here=str(Path(__file__).resolve().parent), trad=0.004))
    cfg = FleetConfig(f"{tmp_path}/models.py:models", str(tmp_path / "profile.json"), knob="simulated",
                      meter="simulated")
    port = _free_port()
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": env}, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app(cfg, replicas=2, cpus_per_replica=0.5, max_request_bytes=100_000), name="alert",
                  route_prefix="/")
        rng = np.random.default_rng(0)
        goals = [{"deadline": 0.05, "accuracy": 0.85}, {"deadline": 0.003}, {"deadline": 0.05, "energy": 1.0},
                 {"deadline": 0.02, "power": 50.0, "pr_th": 0.9}]
        bodies = []
        for i in range(40):
            y = rng.integers(0, 4, 2)
            x = np.c_[y, rng.standard_normal((2, 3))].tolist()
            bodies.append({"input": x, "goal": goals[i % 4], "label": y.tolist()})
        results: list = [None] * len(bodies)

        def client(k: int) -> None:
            for i in range(k, len(bodies), 4):
                results[i] = _post(port, bodies[i])

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(r is not None and r[0] == 200 for r in results), [r for r in results if not r or r[0] != 200][:2]
        replicas = set()
        for body, (_, resp) in zip(bodies, results, strict=True):
            g = body["goal"]
            assert set(resp) >= {"output", "prediction", "model", "stage", "setting", "latency_s", "energy_j",
                                 "goals_met", "goal_met", "queue_s", "total_s", "replica"}
            want = {"deadline"} | ({"accuracy"} if "accuracy" in g else set()) | (
                {"energy"} if "energy" in g or "power" in g else set())
            assert set(resp["goals_met"]) == want
            assert resp["goal_met"] == all(resp["goals_met"].values())
            assert resp["goals_met"]["deadline"] == (resp["total_s"] <= g["deadline"] and resp["stage_reached"] != 0)
            if resp["output"] is not None:
                assert np.argmax(resp["output"], 1).tolist() == resp["prediction"] == body["label"]
            if "accuracy" in g and resp["queue_s"] < 0.02:  # 0.85: only the traditional model (0.9)
                assert resp["model"] == "trad", resp  # meets it, and with >= 30 ms left it fits
            if g["deadline"] == 0.003:  # the 4 ms model cannot make 3 ms: the anytime model answers
                assert resp["model"] == "any"
            replicas.add(resp["replica"])
        assert len(replicas) == 2  # both replicas served, each with its own controller
        status, err = _post(port, {"input": [[1.0]], "goal": {"accuracy": 0.9}})
        assert status == 400 and "goal.deadline: missing" in err["error"]
        status, err = _post(port, {"input": [[0.0] * 40_000], "goal": {"deadline": 0.05}})  # past max_request_bytes
        assert status == 413 and "body over 100000 bytes" in err["error"]
        status, err = _post(port, {"input": [[10 ** 400]], "goal": {"deadline": 0.05}})
        assert status == 400 and "not a rectangular" in err["error"]

        mlperf = pytest.importorskip("mlperf_loadgen")
        assert mlperf is not None
        from alert.live.loadgen import HttpBackend, LoadGenConfig, aggregate, run_loadgen

        data = [(np.c_[[k % 4], np.zeros((1, 3))].astype(np.float32), np.array([k % 4])) for k in range(16)]
        lcfg = LoadGenConfig("server", 0.05, qps=40, min_duration_s=2.0, min_queries=50, outdir=tmp_path / "lg")
        run = run_loadgen(HttpBackend(f"http://127.0.0.1:{port}/", data, MaximizeAccuracy(0.05), threads=4),
                          len(data), lcfg)
        s = aggregate(run, lcfg, "http")
        assert s["errors"] == 0 and len(run.rows) == s["loadgen"]["query_count"] >= 50
        # every delivered output is right (the models read the label off the input); a query with
        # no output by its deadline counts as wrong
        assert all(r["correct"] == 1.0 for r in run.rows if r["prediction"])
        assert s["measured_accuracy"] == pytest.approx(np.mean([1.0 if r["prediction"] else 0.0 for r in run.rows]))
        assert {r["replica"] for r in run.rows} == replicas
    finally:
        serve.shutdown()
        ray.shutdown()
    assert "ray" in sys.modules


def test_compact_input_round_trips_and_is_checked() -> None:
    from alert.live.fleet import decode_input, encode_input

    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    enc = json.loads(json.dumps(encode_input(x)))
    assert np.array_equal(decode_input(enc), x) and decode_input(enc).dtype == np.float32
    with pytest.raises(RequestError, match="does not decode"):
        decode_input({"shape": [2, 3, 5], "float32_base64": enc["float32_base64"]})
    with pytest.raises(RequestError, match="exactly the fields"):
        decode_input({"shape": [2]})
    # the shape is a list of integers >= 0: no float truncated, no bool, no string read digit by digit,
    # no -1 for numpy to infer
    for shape in ([1.7, 12], [True, 24], "24", [-1, 12], [], [1] * 9, [2, 3, 4.0]):
        with pytest.raises(RequestError, match=r"input.shape: expected a list of 1 to 8 integers >= 0"):
            decode_input({"shape": shape, "float32_base64": enc["float32_base64"]})


class _Request:
    """What ``read_json`` reads of a Starlette request: headers and the body's chunks."""

    def __init__(self, chunks: list[bytes], length: str | None = "auto") -> None:
        self.chunks, self.read = chunks, 0
        n = sum(map(len, chunks))
        self.headers = {} if length is None else {"content-length": str(n) if length == "auto" else length}

    async def stream(self):  # type: ignore[no-untyped-def]
        for c in self.chunks:
            self.read += 1
            yield c


def test_a_request_body_is_read_up_to_its_limit_and_must_be_json() -> None:
    import asyncio

    from alert.live.fleet import read_json

    def read(req: _Request, limit: int = 100) -> tuple[object, int, str]:
        return asyncio.run(read_json(req, limit))

    assert read(_Request([b'{"a": ', b'[1, 2]}'])) == ({"a": [1, 2]}, 0, "")
    big = _Request([b"[" + b"1," * 60, b"1]"])
    body, status, err = read(big)
    assert (body, status) == (None, 413) and "body over 100 bytes" in err and "--max-request-mb" in err
    assert big.read == 0  # refused by its Content-Length, before a byte of it is read
    chunked = _Request([b"[" + b"1," * 30, b"1," * 30, b"1]"], length=None)  # no Content-Length
    assert read(chunked)[1] == 413 and chunked.read == 2  # stopped at the chunk that passed the limit
    for length in ("12abc", "-5", "²", "9" * 5000):
        assert read(_Request([b"{}"], length=length))[1] == (413 if length == "9" * 5000 else 400)
    deep = b"[" * 100_000 + b"]" * 100_000  # deeper than the JSON parser goes
    assert read(_Request([deep]), limit=10**6) == (None, 400, "request: body is not JSON")
    assert read(_Request([b"\xff\xfe{"]))[1] == 400
