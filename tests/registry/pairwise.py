"""Registry entries for jaxloss.pairwise."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, normal

N, M, D = 4, 3, 3


def _self(rng, batch, dtype):
    return Call((normal(rng, (*batch, N, D), dtype),), {"metric": "euclidean"})


_rows = jnp.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
_x, _y = jnp.ones((N, D)), jnp.ones((M, D))

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
                ("mahalanobis", {"covariance": 2 * jnp.eye(D)}),
                ("mahalanobis", {"precision": jnp.eye(D)}),
                ("jaccard", {}),
                ("hamming", {}),
            )
            for y in (None, _rows)
        ),
        bad_calls=(
            Bad(lambda: Call((_x, jnp.ones((M, D + 1)))), "`y`"),
            Bad(lambda: Call((_x, jnp.ones((2, M, D)))), "`y`"),
            Bad(lambda: Call((jnp.ones((D,)),)), "`x`"),
            Bad(lambda: Call((jnp.ones((2, N, D)), jnp.ones((3, M, D)))), "`x`"),
            Bad(lambda: Call((_x, _y), {"metric": "braycurtis"}), "`metric`"),
            Bad(lambda: Call((_x, _y), {"metric": "minkowski", "p": 0.5}), "`p`"),
            Bad(lambda: Call((_x, _y), {"metric": "euclidean", "p": 3.0}), "`p`"),
            Bad(lambda: Call((_x, _y), {"metric": "mahalanobis"}), "`precision`"),
            Bad(
                lambda: Call((_x, _y), {"metric": "mahalanobis", "precision": jnp.eye(D + 1)}),
                "`precision`",
            ),
            Bad(
                lambda: Call((_x, _y), {"metric": "mahalanobis", "precision": jnp.ones((D, 2))}),
                "`precision`",
            ),
            Bad(
                lambda: Call(
                    (_x, _y),
                    {"metric": "mahalanobis", "precision": jnp.eye(D), "covariance": jnp.eye(D)},
                ),
                "`covariance`",
            ),
            Bad(lambda: Call((_x.astype(jnp.int32), _y), {"metric": "cosine"}), "`x`"),
            Bad(lambda: Call((_x, _y), {"metric": "jaccard", "soft": 1}), "`soft`"),
        ),
    ),
]
