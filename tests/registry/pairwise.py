"""Registry entries for jaxloss.pairwise."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, normal, on_device, ones

N, M, D = 4, 3, 3


def _self(rng, batch, dtype):
    return Call((normal(rng, (*batch, N, D), dtype),), {"metric": "euclidean"})


_rows = on_device([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
_x, _y = ones((N, D)), ones((M, D))

CASES = [
    Case(
        "pairwise_distances",
        _self,
        reduces=False,
        out_shape=lambda batch: (*batch, N, N),
        # Duplicate, zero and constant rows, for self-distances and against themselves.
        edge_cases=tuple(
            (
                lambda metric=metric, y=y, options=options: Call(
                    (_rows,) if y is None else (_rows, y), {"metric": metric, **options}
                )
            )
            for metric, options in (
                ("euclidean", {}),
                ("sqeuclidean", {}),
                ("cosine", {}),
                ("correlation", {}),
                ("inner_product", {}),
                ("cityblock", {}),
                ("chebyshev", {}),
                ("minkowski", {"p": 1.5}),
                ("mahalanobis", {"covariance": on_device(2 * np.eye(D))}),
                ("mahalanobis", {"precision": on_device(np.eye(D))}),
                ("jaccard", {}),
                ("hamming", {}),
            )
            for y in (None, _rows)
        ),
        bad_calls=(
            Bad(lambda: Call((_x, ones((M, D + 1)))), "`y`"),
            Bad(lambda: Call((_x, ones((2, M, D)))), "`y`"),
            Bad(lambda: Call((ones((D,)),)), "`x`"),
            Bad(lambda: Call((ones((2, N, D)), ones((3, M, D)))), "`x`"),
            Bad(lambda: Call((_x, _y), {"metric": "braycurtis"}), "`metric`"),
            Bad(lambda: Call((_x, _y), {"metric": "minkowski", "p": 0.5}), "`p`"),
            Bad(lambda: Call((_x, _y), {"metric": "euclidean", "p": 3.0}), "`p`"),
            Bad(lambda: Call((_x, _y), {"metric": "mahalanobis"}), "`precision`"),
            Bad(
                lambda: Call(
                    (_x, _y), {"metric": "mahalanobis", "precision": on_device(np.eye(D + 1))}
                ),
                "`precision`",
            ),
            Bad(
                lambda: Call((_x, _y), {"metric": "mahalanobis", "precision": ones((D, 2))}),
                "`precision`",
            ),
            Bad(
                lambda: Call(
                    (_x, _y),
                    {
                        "metric": "mahalanobis",
                        "precision": on_device(np.eye(D)),
                        "covariance": on_device(np.eye(D)),
                    },
                ),
                "`covariance`",
            ),
            Bad(lambda: Call((on_device(_x, jnp.int32), _y), {"metric": "cosine"}), "`x`"),
            Bad(lambda: Call((_x, _y), {"metric": "jaccard", "soft": 1}), "`soft`"),
        ),
    ),
]
