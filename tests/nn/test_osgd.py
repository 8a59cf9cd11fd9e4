"""Orthogonalized SGD: orthogonality, priority of earlier outputs, equivalence with one output."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from alert.nn.osgd import OrthogonalizedSGD, OSGDConfig, orthogonalize  # noqa: E402


def test_hand_computed_two_outputs() -> None:
    g = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    p = orthogonalize(g)
    torch.testing.assert_close(p, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))


def test_rescale_norm_restores_raw_norm() -> None:
    g = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    p = orthogonalize(g, config=OSGDConfig(rescale="norm"))
    torch.testing.assert_close(p[1], torch.tensor([0.0, 2.0 ** 0.5]))


@settings(max_examples=40, deadline=None)
@given(arrays("float64", st.tuples(st.integers(1, 5), st.integers(1, 12)),
              elements=st.floats(-100, 100, allow_nan=False)))
def test_projected_gradients_mutually_orthogonal(a) -> None:
    g = torch.from_numpy(a)
    p = orthogonalize(g)
    gram = p @ p.T
    off = gram - torch.diag(torch.diag(gram))
    scale = (g.norm(dim=1).max() ** 2).item() + 1e-12
    assert off.abs().max().item() <= 1e-8 * scale
    torch.testing.assert_close(p[0], g[0])  # output 1 keeps its gradient
    # every raw gradient is in the span of the projected ones (Gram-Schmidt loses nothing)
    # (least squares on p_1..p_k: projecting onto each p_j alone is ill-conditioned when a p_j is
    # rounding noise, e.g. the third of three gradients in two dimensions)
    for k in range(g.shape[0]):
        basis = p[: k + 1].numpy().T
        coef = np.linalg.lstsq(basis, g[k].numpy(), rcond=None)[0]
        resid = g[k].numpy() - basis @ coef
        assert np.linalg.norm(resid) <= 1e-6 * (g[k].norm().item() + 1)


def test_per_tensor_projection_is_orthogonal_in_every_segment() -> None:
    torch.manual_seed(0)
    g = torch.randn(3, 7, dtype=torch.float64)
    seg = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    p = orthogonalize(g, seg, OSGDConfig(projection="per-tensor"))
    for s in range(3):
        m = seg == s
        q = p[:, m]
        gram = q @ q.T
        assert (gram - torch.diag(torch.diag(gram))).abs().max() < 1e-12


def test_zero_gradient_does_not_divide_by_zero() -> None:
    g = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [3.0, 0.0, 1.0]])
    for cfg in (OSGDConfig(), OSGDConfig(rescale="norm")):
        p = orthogonalize(g, config=cfg)
        assert torch.isfinite(p).all()
        torch.testing.assert_close(p[1], g[1])  # nothing to project on: unchanged
        assert p[2].abs().max() == 0
        assert abs(float(p[3] @ p[1])) < 1e-5


def _toy():
    torch.manual_seed(0)
    w = torch.nn.Linear(4, 3)
    x = torch.randn(16, 4)
    y1, y2 = torch.randn(16, 3), torch.randn(16, 3)
    return w, x, y1, y2


def test_one_output_equals_wrapped_optimizer() -> None:
    w, x, y1, _ = _toy()
    ref = torch.nn.Linear(4, 3)
    ref.load_state_dict(w.state_dict())
    o = OrthogonalizedSGD(torch.optim.SGD(w.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3))
    r = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    for _ in range(5):
        o.zero_grad()
        o.step([((w(x) - y1) ** 2).mean()])
        r.zero_grad()
        ((ref(x) - y1) ** 2).mean().backward()
        r.step()
    for a, b in zip(w.parameters(), ref.parameters(), strict=False):
        torch.testing.assert_close(a, b)


def test_output1_update_unchanged_by_later_outputs() -> None:
    """With plain SGD, the update's component along g_1 is exactly g_1: to first order output 1's
    loss changes as if it were trained alone, whatever output 2 wants."""
    w, x, y1, y2 = _toy()
    params = list(w.parameters())
    l1 = ((w(x) - y1) ** 2).mean()
    g1 = torch.cat([g.reshape(-1) for g in torch.autograd.grad(l1, params)])
    before = torch.cat([p.detach().reshape(-1) for p in params])
    o = OrthogonalizedSGD(torch.optim.SGD(params, lr=0.5))
    out = w(x)
    o.step([((out - y1) ** 2).mean(), 10.0 * ((out - y2) ** 2).mean()])
    delta = torch.cat([p.detach().reshape(-1) for p in params]) - before
    torch.testing.assert_close(delta @ g1, -0.5 * (g1 @ g1))
    # summed losses would not keep that: check the test can tell the difference
    w2, x2, y12, y22 = _toy()
    s = torch.optim.SGD(w2.parameters(), lr=0.5)
    out = w2(x2)
    (((out - y12) ** 2).mean() + 10.0 * ((out - y22) ** 2).mean()).backward()
    s.step()
    delta2 = torch.cat([p.detach().reshape(-1) for p in w2.parameters()]) - before
    assert not torch.allclose(delta2 @ g1, -0.5 * (g1 @ g1))


def test_parameters_unused_by_an_output_get_zero_from_it() -> None:
    a, b = torch.nn.Parameter(torch.tensor([1.0, 2.0])), torch.nn.Parameter(torch.tensor([3.0]))
    o = OrthogonalizedSGD(torch.optim.SGD([a, b], lr=1.0))
    p = o.backward([(a ** 2).sum(), (b ** 2).sum() + a.sum()])
    torch.testing.assert_close(p[0], torch.tensor([2.0, 4.0, 0.0]))
    # g2 = [1, 1, 6]; minus its projection on [2, 4, 0] (coef 6/20) -> [0.4, -0.2, 6]
    torch.testing.assert_close(p[1], torch.tensor([0.4, -0.2, 6.0]))
    torch.testing.assert_close(a.grad, torch.tensor([2.4, 3.8]))
    torch.testing.assert_close(b.grad, torch.tensor([6.0]))


def test_graph_is_released_after_the_last_output() -> None:
    w, x, y1, y2 = _toy()
    o = OrthogonalizedSGD(torch.optim.SGD(w.parameters(), lr=0.1))
    out = w(x)
    losses = [((out - y1) ** 2).mean(), ((out - y2) ** 2).mean()]
    o.backward(losses)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        losses[1].backward()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="projection must be"):
        OSGDConfig(projection="layer")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rescale must be"):
        OSGDConfig(rescale="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one loss"):
        OrthogonalizedSGD(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)).backward([])


def test_conflicts_only_keeps_aligned_and_removes_opposed_components() -> None:
    cfg = OSGDConfig(conflicts_only=True)
    torch.testing.assert_close(orthogonalize(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), config=cfg)[1],
                               torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(orthogonalize(torch.tensor([[1.0, 0.0], [-2.0, 1.0]]), config=cfg)[1],
                               torch.tensor([0.0, 1.0]))


def test_default_wrapper_projects_per_tensor() -> None:
    a, b = torch.nn.Parameter(torch.tensor([1.0, 0.0])), torch.nn.Parameter(torch.tensor([1.0]))
    o = OrthogonalizedSGD(torch.optim.SGD([a, b], lr=1.0))
    # g1 = [2, 0 | 2], g2 = [1, 1 | -1]: per tensor, a's part loses [1, 0] and b's part loses [-1]
    p = o.backward([(a ** 2).sum() + (b ** 2).sum(), a.sum() - b.sum()])
    torch.testing.assert_close(p[1], torch.tensor([0.0, 1.0, 0.0]))
    g = OrthogonalizedSGD(torch.optim.SGD([a, b], lr=1.0), OSGDConfig(projection="global"))
    p = g.backward([(a ** 2).sum() + (b ** 2).sum(), a.sum() - b.sum()])
    torch.testing.assert_close(p[1], torch.tensor([1.0, 1.0, -1.0]))  # g1.g2 = 0 over the whole vector
