"""The catalog (`python -m jaxloss.demo --table`) covers every public function and runs."""

import jaxloss
from jaxloss import _catalog as demo


def test_demo_rows_cover_every_public_name_and_are_finite():
    # One call of rows(): building the examples' inputs compiles about 90 small programs.
    import math

    table = demo.rows()
    public = set(jaxloss.__all__) - {"__version__"}
    assert public == {name for name, *_ in table}
    for name, _, _, mean, _ in table:
        assert math.isfinite(mean), name


def test_training_demo_reaches_the_target_accuracy(tmp_path, capsys):
    from jaxloss import demo as training

    training.main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy")[1].split()[0])
    recall = float(out.split("kNN recall@1")[1].split()[0])
    assert accuracy >= 0.95, out
    assert recall >= 0.9, out
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert "time per step" in out and str(tmp_path / "demo.png") in out


def test_demo_helpers_pca_and_recall():
    import numpy as np

    from jaxloss import demo as training

    rng = np.random.default_rng(0)
    # Points on a line in 5-D plus tiny noise: the first component carries the spread.
    t = rng.standard_normal(50)
    x = np.outer(t, [1.0, 2.0, 0.0, 0.0, 0.0]) + 1e-3 * rng.standard_normal((50, 5))
    projected = training.pca_2d(x)
    assert projected.shape == (50, 2)
    np.testing.assert_allclose(
        np.abs(projected[:, 0]), np.abs(t - t.mean()) * np.sqrt(5), atol=1e-2
    )
    labels = np.array([0, 0, 1, 1])
    points = np.array([[0.0], [0.1], [5.0], [5.2]])
    assert training.knn_recall_at_1(points, labels) == 1.0
    assert training.knn_recall_at_1(points, np.array([0, 1, 0, 1])) == 0.0
