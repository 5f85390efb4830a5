"""Texts as unit-length vectors, so that the cosine similarity says how alike two texts are.

Two methods (``FRONTOFFICE_FAQ_METHOD``):

- ``tfidf`` (default, scikit-learn only): TF-IDF on character n-grams plus word 1-2-grams of
  Latin-script words, each block L2-normalised, side by side. Latin words give their 2-4-grams
  (padded, so " card" and "card " mark the word's ends). Japanese needs no tokeniser: a run of
  kanji and kana gives its single kanji and its 2-3-grams, except those made only of hiragana
  (particles and inflections such as "ください" or "ですか", which every question shares);
  numbers alone (order ids) give nothing.
  Above ``DENSE_LIMIT`` texts the matrix is reduced by truncated SVD (latent semantic analysis,
  ``FRONTOFFICE_FAQ_TFIDF_DIMENSIONS`` dimensions, fitted on a sample of at most
  ``SVD_SAMPLE`` texts), which also lets "card not arrived" meet "card still hasn't come".
- ``embeddings`` (optional extra): sentence embeddings from an installed model
  (``inquiries.faq.embeddings``).

Texts are NFKC-normalised and case-folded first, so full-width and half-width forms match.
scikit-learn and SciPy are imported when first used, not when Django starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from inquiries.faq import embeddings
from inquiries.faq.cleaning import fold
from inquiries.faq.mining import AnswerVectors
from inquiries.models import FaqMethod

# Latin-script words of two letters or more; digits alone are order numbers, not meaning.
LATIN_WORD = r"(?<![0-9a-zß-ɏ])[a-zß-ɏ][0-9a-zß-ɏ']+(?![0-9a-zß-ɏ])"
_RUN = re.compile(r"\w+")
_LATIN_RUN = re.compile(r"[0-9a-zß-ɏ']+")
_DIGITS = re.compile(r"[0-9_]+")
_HIRAGANA_ONLY = re.compile(r"[\u3040-\u309fー]+")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々]")
DENSE_LIMIT = 300
SVD_SAMPLE = 10_000
ANSWER_FEATURES = 2**18
ANSWER_CHARACTERS = 1000
RANDOM_STATE = 0


def character_ngrams(text: str) -> list[str]:
    """The character features of `text` (see the module docstring), folded first."""
    grams: list[str] = []
    for run in _RUN.findall(fold(text)):
        if _DIGITS.fullmatch(run):
            continue
        if _LATIN_RUN.fullmatch(run):
            padded = f" {run} "
            grams += [padded[i : i + n] for n in (2, 3, 4) for i in range(len(padded) - n + 1)]
            continue
        grams += [character for character in run if _KANJI.match(character)]
        grams += [
            gram
            for n in (2, 3)
            for i in range(len(run) - n + 1)
            if not _HIRAGANA_ONLY.fullmatch(gram := run[i : i + n])
        ]
    return grams


class TfidfVectors:
    """TF-IDF of character and Latin word n-grams, reduced by SVD for large corpora."""

    method = FaqMethod.TFIDF

    def __init__(self, *, dimensions: int | None = None) -> None:
        self.dimensions = dimensions or settings.FRONTOFFICE_FAQ_TFIDF_DIMENSIONS
        self._blocks: list = []
        self._svd = None

    def _new_blocks(self, documents: int) -> list:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # A feature seen once cannot make two texts alike, and one in more than half of a large
        # corpus (" i", "my ") makes everything alike (+0.007 NMI on BANKING77); on a handful
        # of texts every feature counts.
        common = {
            "sublinear_tf": True,
            "min_df": 2 if documents >= 50 else 1,
            "max_df": 0.5 if documents >= 1000 else 1.0,
            "dtype": np.float32,
            "lowercase": False,
        }
        return [
            TfidfVectorizer(analyzer=character_ngrams, **common),
            TfidfVectorizer(
                analyzer="word",
                ngram_range=(1, 2),
                token_pattern=LATIN_WORD,
                preprocessor=fold,
                **common,
            ),
        ]

    def sparse(self, texts: Sequence[str], *, fit: bool):
        """The L2-normalised TF-IDF matrix of `texts`, learning the vocabulary when `fit`."""
        from scipy import sparse
        from sklearn.preprocessing import normalize

        if fit:
            fitted, matrices = [], []
            for block in self._new_blocks(len(texts)):
                try:
                    matrices.append(normalize(block.fit_transform(texts)))
                except ValueError:  # no such features at all (e.g. no Latin word in Japanese)
                    continue
                fitted.append(block)
            self._blocks = fitted
        else:
            matrices = [normalize(block.transform(texts)) for block in self._blocks]
        if not matrices:
            return sparse.csr_matrix((len(texts), 1), dtype=np.float32)
        return normalize(sparse.hstack(matrices, format="csr", dtype=np.float32))

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        """Learn the vocabulary (and the SVD) from `texts`; their vectors, one row each."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        matrix = self.sparse(texts, fit=True)
        self._svd = None
        if len(texts) <= DENSE_LIMIT or matrix.shape[1] <= self.dimensions:
            return matrix.toarray()
        self._svd = TruncatedSVD(self.dimensions, random_state=RANDOM_STATE, n_iter=4)
        if matrix.shape[0] > SVD_SAMPLE:
            sample = np.random.default_rng(RANDOM_STATE).choice(
                matrix.shape[0], SVD_SAMPLE, replace=False
            )
            self._svd.fit(matrix[np.sort(sample)])
        else:
            self._svd.fit(matrix)
        return normalize(self._svd.transform(matrix)).astype(np.float32)

    @property
    def reduced(self) -> bool:
        """Whether the last fit reduced the vectors by SVD (a corpus above DENSE_LIMIT)."""
        return self._svd is not None

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of other texts (FAQ questions, earlier candidates) in the same space."""
        from sklearn.preprocessing import normalize

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        matrix = self.sparse(texts, fit=False)
        if self._svd is None:
            return matrix.toarray()
        return normalize(self._svd.transform(matrix)).astype(np.float32)


class EmbeddingVectors:
    """Sentence embeddings (already unit length); nothing to learn from the corpus."""

    method = FaqMethod.EMBEDDINGS
    reduced = False

    def __init__(self) -> None:
        embeddings.load_model()  # refuse now, before any work, when the extra is missing

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        return embeddings.encode(texts)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return embeddings.encode(texts)


def method_setting() -> str:
    return settings.FRONTOFFICE_FAQ_METHOD


def vectors_for(method: str | None = None) -> TfidfVectors | EmbeddingVectors:
    """The vectoriser of `method` (default: the setting). EmbeddingsUnavailableError when
    embeddings are asked for and not installed; ValueError for an unknown method."""
    method = method or method_setting()
    if method == FaqMethod.TFIDF:
        return TfidfVectors()
    if method == FaqMethod.EMBEDDINGS:
        return EmbeddingVectors()
    raise ValueError(f"Unknown FAQ method {method!r}; use one of {', '.join(FaqMethod.values)}.")


def answer_vectors(answers: Sequence[str]) -> AnswerVectors:
    """Sparse unit vectors of the agents' answers for picking the most typical one of a group:
    hashed character n-grams of their first ANSWER_CHARACTERS characters, nothing to fit
    (answers of different groups never meet); each distinct answer once."""
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer

    distinct: dict[str, int] = {}
    row = np.full(len(answers), -1, dtype=np.int64)
    for index, answer in enumerate(answers):
        if answer:
            row[index] = distinct.setdefault(answer, len(distinct))
    hashing = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 4),
        n_features=ANSWER_FEATURES,
        alternate_sign=False,
        norm="l2",
        preprocessor=fold,
        lowercase=False,
        dtype=np.float32,
    )
    texts = [answer[:ANSWER_CHARACTERS] for answer in distinct]
    matrix = (
        hashing.transform(texts)
        if texts
        else sparse.csr_matrix((0, ANSWER_FEATURES), dtype=np.float32)
    )
    return AnswerVectors(matrix=matrix, row=row)


def similarities(query: str, texts: Sequence[str], method: str | None = None) -> np.ndarray:
    """Cosine similarity of `query` to each of `texts` with the FAQ method's vectors (TF-IDF
    fitted on these texts and the query)."""
    if not texts or not query.strip():
        return np.zeros(len(texts), dtype=np.float32)
    vectorizer = vectors_for(method)
    if isinstance(vectorizer, TfidfVectors):
        # Exact TF-IDF geometry: no SVD for a suggestion list.
        matrix = vectorizer.sparse([query, *texts], fit=True)
        return np.asarray((matrix[1:] @ matrix[0].T).toarray()).ravel()
    vectors = vectorizer.fit_transform([query, *texts])
    return vectors[1:] @ vectors[0]
