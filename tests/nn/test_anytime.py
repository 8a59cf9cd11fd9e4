"""Nested architectures: re-use, width-nesting invariance, the anytime() contract."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from alert.nn.anytime import DepthNestedNet, WidthNestedNet  # noqa: E402
from alert.nn.families import NESTED, build_model  # noqa: E402


def _x(n: int = 3) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("net", [WidthNestedNet((4, 8, 12)), DepthNestedNet((1, 2, 3), 4)])
def test_forward_returns_one_output_per_stage(net) -> None:
    torch.manual_seed(0)
    outs = net.eval()(_x())
    assert len(outs) == net.n_stages == 3
    assert all(o.shape == (3, 10) for o in outs)


def test_width_nesting_leaves_earlier_outputs_unchanged() -> None:
    torch.manual_seed(0)
    net = WidthNestedNet((4, 8, 12)).eval()
    x = _x()
    before = [o.detach().clone() for o in net(x)]
    with torch.no_grad():  # change everything that belongs to groups 2 and 3 (and their heads)
        for mod in net.modules():
            if hasattr(mod, "convs"):
                for g in (1, 2):
                    mod.convs[g].weight.add_(1.0)
                    mod.bns[g].weight.mul_(-3.0)
                    mod.bns[g].running_mean.add_(0.5)
        net.heads[1].weight.add_(1.0)
        net.heads[2].weight.add_(1.0)
    after = net(x)
    torch.testing.assert_close(after[0], before[0], rtol=0, atol=0)
    assert not torch.allclose(after[1], before[1]) and not torch.allclose(after[2], before[2])


def test_width_nesting_training_statistics_of_group1_are_shared() -> None:
    """Running stage 1 alone or all stages updates the group-1 BatchNorm statistics identically."""
    torch.manual_seed(0)
    a = WidthNestedNet((4, 8)).train()
    b = WidthNestedNet((4, 8)).train()
    b.load_state_dict(a.state_dict())
    x = _x(8)
    a(x)
    b.run_stage(0, b.init_state(x))
    torch.testing.assert_close(a.stem.bns[0].running_mean, b.stem.bns[0].running_mean, rtol=0, atol=0)
    torch.testing.assert_close(a.blocks[1].conv2.bns[0].running_var, b.blocks[1].conv2.bns[0].running_var,
                               rtol=0, atol=0)
    assert not torch.equal(a.stem.bns[1].running_mean, b.stem.bns[1].running_mean)


def test_depth_nesting_stage_output_is_prefix_network() -> None:
    """Stage 2 of a (1, 2, 3)-nested net equals stem + 2 blocks + head 2 computed by hand."""
    torch.manual_seed(0)
    net = DepthNestedNet((1, 2, 3), 4).eval()
    x = _x()
    h = net.blocks[1](net.blocks[0](net.stem(x)))
    torch.testing.assert_close(net(x)[1], net.heads[1](h.mean((2, 3))))


def test_anytime_stop_at_matches_forward() -> None:
    torch.manual_seed(0)
    net = WidthNestedNet((4, 8, 12)).eval()
    x = _x()
    outs = net(x)
    for k in (1, 2, 3):
        r = net.anytime(x, stop_at=k)
        assert r.stage == k and len(r.stage_ends) == k
        torch.testing.assert_close(r.output, outs[k - 1])
    with pytest.raises(ValueError, match="stop_at must be in 1..3"):
        net.anytime(x, stop_at=4)
    with pytest.raises(ValueError, match="deadline must be a positive"):
        net.anytime(x, deadline=0)


class FakeClock:
    """Every call advances time by 1 s: anytime() reads it once at the start and once per stage."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def test_anytime_deadline_returns_latest_output_in_time() -> None:
    torch.manual_seed(0)
    net = DepthNestedNet((1, 2, 3), 4).eval()
    x = _x()
    outs = net(x)
    # stage k ends at k seconds after the start
    r = net.anytime(x, deadline=2.5, clock=FakeClock())
    assert r.stage == 2 and r.stage_ends == [1.0, 2.0, 3.0]
    torch.testing.assert_close(r.output, outs[1])
    r = net.anytime(x, deadline=2.0, clock=FakeClock())  # ends exactly at the deadline: in time, stop
    assert r.stage == 2 and r.stage_ends == [1.0, 2.0]
    r = net.anytime(x, deadline=0.5, clock=FakeClock())  # stage 1 late: q_fail case
    assert r.stage == 0 and r.output is None and not r.met_deadline
    torch.testing.assert_close(r.late_output, outs[0])
    r = net.anytime(x, stop_at=1, deadline=10.0, clock=FakeClock())
    assert r.stage == 1 and r.met_deadline


@pytest.mark.parametrize("name", ["depth-nested", "width-nested", "depth-2", "width-8"])
def test_family_names_build(name: str) -> None:
    net = build_model(name)
    assert net.n_stages == (3 if name in NESTED else 1)


def test_traditional_equals_single_stage_nested() -> None:
    assert WidthNestedNet((16,)).n_stages == 1
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build_model("resnet")
    for name in ("depth-99999", "width-5000", "depth-" + "9" * 40):  # refused at once, not built for minutes
        with pytest.raises(ValueError, match="more than the|unknown model"):
            build_model(name)
    assert build_model("depth-64").n_stages == 1
    with pytest.raises(ValueError, match="strictly increasing"):
        WidthNestedNet((8, 8))
