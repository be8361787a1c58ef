"""TextVectorization (Keras's layer): strings -> standardize -> split -> (n-grams) -> vocabulary indices.

`adapt(texts)` learns the vocabulary: tokens by decreasing count, ties by decreasing token (Keras's order),
at most `max_tokens` entries including the special ones. In "int" mode index 0 is the padding token ""
and 1 is "[UNK]" (out of vocabulary); in "multi_hot", "count" and "tf_idf" modes index 0 is "[UNK]" and
there is no padding token. Pure Python and NumPy: a preprocessing step, not differentiable.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .base import Layer
from .symbolic import _is_symbolic

PAD, OOV = "", "[UNK]"
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')  # Keras's DEFAULT_STRIP_REGEX
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_MODES = ("int", "multi_hot", "count", "tf_idf")


class TextVectorization(Layer):
    """Turn a batch of strings into token indices ("int") or per-text vocabulary vectors.

    >>> tv = TextVectorization(output_sequence_length=4)
    >>> tv.adapt(["the cat sat", "the dog"])
    >>> tv.get_vocabulary()
    ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
    >>> tv(["The cat flew!"]).data.tolist()
    [[2, 5, 1, 0]]
    """

    cast_inputs = False  # strings stay strings
    _call_has_training = False

    def __init__(self, max_tokens: int | None = None, standardize: str | Callable[[str], str] | None =
                 "lower_and_strip_punctuation", split: str | Callable[[str], list[str]] | None = "whitespace",
                 ngrams: int | tuple[int, ...] | None = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Iterable[str] | None = None, idf_weights: Any = None, **kwargs: Any) -> None:
        for keras_only in ("sparse", "ragged", "encoding", "vocabulary_size"):
            if keras_only in ("sparse", "ragged") and kwargs.get(keras_only):
                raise ValueError(f"TextVectorization: {keras_only}=True is not supported (outputs are dense arrays)")
            kwargs.pop(keras_only, None)
        super().__init__(**kwargs)
        who = f"TextVectorization '{self.name}'"
        if output_mode not in _MODES:
            raise ValueError(f"{who}: output_mode must be one of {_MODES}, got {output_mode!r}")
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"{who}: standardize must be None, a callable or one of {_STANDARDIZE}, "
                             f"got {standardize!r}")
        if not (split is None or callable(split) or split in ("whitespace", "character")):
            raise ValueError(f"{who}: split must be None, 'whitespace', 'character' or a callable, got {split!r}")
        least = 3 if output_mode == "int" else 2  # the special tokens and one word
        if max_tokens is not None and (int(max_tokens) != max_tokens or max_tokens < least):
            raise ValueError(f"{who}: max_tokens must leave room for the special tokens and one word, got {max_tokens}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"{who}: output_sequence_length only applies to output_mode='int', got {output_mode!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{who}: pad_to_max_tokens=True needs max_tokens")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize, self.split = standardize, split
        self.ngrams = (tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else
                       None if ngrams is None else tuple(int(n) for n in ngrams))
        self._ngrams_arg = ngrams
        self.output_mode = output_mode
        self.output_sequence_length = None if output_sequence_length is None else int(output_sequence_length)
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._vocab: list[str] = []
        self._index: dict[str, int] = {}
        self._idf: np.ndarray | None = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ----------------------------------------------------------------- the text pipeline
    def _special(self) -> list[str]:
        return [PAD, OOV] if self.output_mode == "int" else [OOV]

    def _tokens(self, text: str) -> list[str]:
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        if callable(self.standardize):
            text = self.standardize(text)
        if self.split is None:
            tokens = [text]
        elif self.split == "whitespace":
            tokens = text.split()
        elif self.split == "character":
            tokens = list(text)
        else:
            tokens = list(self.split(text))
        if self.ngrams:
            tokens = [" ".join(tokens[i:i + n]) for n in self.ngrams for i in range(len(tokens) - n + 1)]
        return tokens

    def _texts(self, data: Any) -> list[str]:
        """A batch of strings from a list, array (batch,) or (batch, 1), or a Tensor of strings."""
        arr = np.asarray(data.data if isinstance(data, Tensor) else data, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1:
            raise ValueError(f"TextVectorization '{self.name}' expects a batch of strings of shape (batch,) or "
                             f"(batch, 1), got shape {arr.shape}")
        out = []
        for t in arr:
            if isinstance(t, bytes):
                t = t.decode("utf-8")
            if not isinstance(t, str):
                raise TypeError(f"TextVectorization '{self.name}' expects strings, got {type(t).__name__} ({t!r:.40})")
            out.append(t)
        return out

    # ----------------------------------------------------------------- vocabulary
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and, for tf_idf, the idf weights) from an iterable of texts."""
        counts: collections.Counter[str] = collections.Counter()
        doc_counts: collections.Counter[str] = collections.Counter()
        n_docs = 0
        batches = [data] if isinstance(data, (str, list, tuple, np.ndarray, Tensor)) else data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):  # (texts, labels) from a dataset
                batch = batch[0]
            for text in self._texts(batch):
                tokens = self._tokens(text)
                counts.update(tokens)
                doc_counts.update(set(tokens))
                n_docs += 1
        for special in (PAD, OOV):
            counts.pop(special, None)
        if not counts:
            raise ValueError(f"TextVectorization '{self.name}': adapt() found no tokens in {n_docs} text(s), so the "
                             f"vocabulary would be empty; check the data and the standardize/split settings")
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)  # count, then token, desc
        if self.max_tokens is not None:
            ranked = ranked[:self.max_tokens - len(self._special())]
        tokens = [t for t, _ in ranked]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1 + n_docs / (1 + np.array([doc_counts[t] for t in tokens], np.float64)))
        self._set(tokens, idf)

    def set_vocabulary(self, vocabulary: Iterable[str], idf_weights: Any = None) -> None:
        """Use this vocabulary (with or without the leading special tokens); tf_idf needs `idf_weights`."""
        vocab = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in vocabulary]
        special = self._special()
        if vocab[:len(special)] == special:
            vocab = vocab[len(special):]
            if idf_weights is not None and len(idf_weights) == len(vocab) + len(special):
                idf_weights = np.asarray(idf_weights)[len(special):]
        if not vocab:
            raise ValueError(f"TextVectorization '{self.name}': the vocabulary is empty; it needs at least one token")
        dupes = [t for t, c in collections.Counter(vocab).items() if c > 1]
        if dupes or PAD in vocab or OOV in vocab:
            raise ValueError(f"TextVectorization '{self.name}': vocabulary tokens must be unique and not special "
                             f"tokens, got repeated or special {sorted(dupes + [t for t in (PAD, OOV) if t in vocab])}")
        if self.max_tokens is not None and len(vocab) + len(special) > self.max_tokens:
            raise ValueError(f"TextVectorization '{self.name}': {len(vocab) + len(special)} tokens with the special "
                             f"ones exceed max_tokens={self.max_tokens}")
        if self.output_mode == "tf_idf":
            if idf_weights is None or len(idf_weights) != len(vocab):
                raise ValueError(f"TextVectorization '{self.name}': tf_idf needs one idf weight per token "
                                 f"({len(vocab)}), got {None if idf_weights is None else len(idf_weights)}")
            idf_weights = np.asarray(idf_weights, np.float64)
        self._set(vocab, idf_weights if self.output_mode == "tf_idf" else None)

    def _set(self, tokens: list[str], idf: np.ndarray | None) -> None:
        self._vocab = self._special() + list(tokens)
        self._index = {t: i for i, t in enumerate(self._vocab)}
        if idf is not None:  # the OOV token gets the mean idf (Keras's choice: its true idf is unknown)
            self._idf = np.concatenate([[idf.mean()], idf])

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        return list(self._vocab if include_special_tokens else self._vocab[len(self._special()):])

    def vocabulary_size(self) -> int:
        return len(self._vocab)

    # ----------------------------------------------------------------- call
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(inputs, Tensor) and not _is_symbolic(inputs):
            inputs = Tensor(np.asarray(self._texts(inputs), dtype=object))  # one array, not a list of tensors
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs):
        if not self._vocab:
            raise ValueError(f"TextVectorization '{self.name}' has no vocabulary yet: call adapt(texts) or pass "
                             f"vocabulary=[...]")
        oov = self._index[OOV]
        ids = [[self._index.get(t, oov) for t in self._tokens(text)] for text in self._texts(inputs)]
        if self.output_mode == "int":
            length = self.output_sequence_length or max((len(r) for r in ids), default=0)
            out = np.zeros((len(ids), length), np.int64)  # 0 = padding
            for i, row in enumerate(ids):
                row = row[:length]
                out[i, :len(row)] = row
            return Tensor(out)
        width = self.max_tokens if self.pad_to_max_tokens else len(self._vocab)
        out = np.zeros((len(ids), width), np.float32)
        for i, row in enumerate(ids):
            np.add.at(out[i], row, 1.0)
        if self.output_mode == "multi_hot":
            out = np.minimum(out, 1.0)
        elif self.output_mode == "tf_idf":
            out[:, :len(self._idf)] *= self._idf.astype(np.float32)
        return Tensor(out)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.max_tokens if self.pad_to_max_tokens else len(self._vocab) or None)

    def get_config(self):
        for what in ("standardize", "split"):
            if callable(getattr(self, what)):
                raise ValueError(f"TextVectorization '{self.name}': a callable {what} cannot be saved in a config")
        idf = None if self._idf is None else self._idf[1:].tolist()
        return {**super().get_config(), "max_tokens": self.max_tokens, "standardize": self.standardize,
                "split": self.split, "ngrams": self._ngrams_arg if not isinstance(self._ngrams_arg, tuple)
                else list(self._ngrams_arg), "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": self.get_vocabulary(include_special_tokens=False) or None, "idf_weights": idf}


__all__ = ["TextVectorization"]
