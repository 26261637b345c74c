"""The demo (`make demo`) covers every public function and runs."""

import jaxloss
from jaxloss import demo


def test_demo_covers_every_public_name():
    public = set(jaxloss.__all__) - {"__version__"}
    assert public == demo.covered_names()


def test_demo_rows_are_finite():
    import math

    for name, _, _, mean, _ in demo.rows():
        assert math.isfinite(mean), name
