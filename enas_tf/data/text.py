"""Word-level text for the recurrent space: Penn Treebank files, and an offline corpus.

``load_ptb`` reads Mikolov's preprocessed PTB (``ptb.train.txt``, ``ptb.valid.txt``,
``ptb.test.txt``: lower case, numbers as ``N``, 10k words with ``<unk>``), appending
``<eos>`` to every line; the vocabulary is the training split's words by frequency.
``load_wikitext2`` reads WikiText-2 (``wiki.train.tokens`` ...) and ``load_text_dir``
any ``train.txt``/``valid.txt``/``test.txt`` the same way, but as DARTS's (and
AWD-LSTM's) ``data.py`` does for every corpus, blank lines count too (one ``<eos>`` each):
WikiText-2's perplexities are reported over those tokens. ``TextSplits.from_files`` and
``from_tokens`` take a user's own text.
``load_python_docs`` tokenises the Python standard library's own documentation text
(``pydoc_data.topics``, installed with every CPython) the same way, for quick starts
that need no download.

``TextSplits.dataset`` serves ``(inputs, targets)`` token batches ``[B, T]`` for
truncated BPTT through ``tf.data``: the split is cut into ``B`` parallel streams
(``batchify``), and segments are read along them in order so the hidden state can be
carried from one segment to the next.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import os
import re
from typing import Sequence

import numpy as np
import tensorflow as tf

from enas_tf.data.pipeline import DataNotFoundError, PipelineOptions

EOS, UNK = "<eos>", "<unk>"
PTB_FILES = {split: f"ptb.{split}.txt" for split in ("train", "valid", "test")}
PTB_HELP = ("Penn Treebank is Mikolov's preprocessed version: download "
            "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz and copy "
            "simple-examples/data/ptb.{train,valid,test}.txt into --data_dir")
WIKITEXT2_FILES = {split: f"wiki.{split}.tokens" for split in ("train", "valid", "test")}
WIKITEXT2_HELP = ("WikiText-2 (Merity et al.) is wikitext-2-v1.zip from "
                  "https://s3.amazonaws.com/research.metamind.io/wikitext/; copy "
                  "wikitext-2/wiki.{train,valid,test}.tokens into --data_dir")
TEXT_FILES = {split: f"{split}.txt" for split in ("train", "valid", "test")}
TEXT_HELP = ("A text directory holds train.txt, valid.txt and test.txt: words separated "
             "by spaces, one sentence (or paragraph) a line")
QUICKSTART_VOCAB = 2000  # words of the Python-docs corpus, <unk> and <eos> included


def batchify(tokens: np.ndarray, batch_size: int) -> np.ndarray:
    """``tokens`` as ``batch_size`` parallel streams ``[batch_size, len // batch_size]``."""
    length = len(tokens) // batch_size
    return np.asarray(tokens[:batch_size * length], np.int32).reshape(batch_size, length)


def random_bptt_lengths(total: int, bptt: int, rng: np.random.Generator) -> list[int]:
    """enas_lm's random BPTT lengths covering ``total`` steps: ``bptt`` (or ``bptt / 2``
    with probability 0.05) plus normal noise of std 5 truncated at 2 std, at most
    ``bptt + 20``, at least 1."""
    lengths, position = [], 0
    while position < total:
        base = bptt if rng.random() < 0.95 else bptt / 2.0
        noise = rng.normal(0.0, 5.0)
        while abs(noise) > 10.0:  # truncated normal, as tf.random.truncated_normal
            noise = rng.normal(0.0, 5.0)
        length = max(1, min(int(base + noise), bptt + 20, total - position))
        lengths.append(length)
        position += length
    return lengths


@dataclasses.dataclass
class TextSplits:
    """Train/valid/test token streams of one corpus and its vocabulary.

    ``bptt`` is the segment length and ``random_bptt`` whether training segments take
    enas_lm's random lengths; ``for_run`` sets both from a run's config.

    Args:
      name: what the corpus is called (logs, ``config.json``).
      vocabulary: the words, by id.
      train, valid, test: int token streams.
      bptt, random_bptt: as above.

    Example:

    ```python
    text = TextSplits.from_files("train.txt", "valid.txt", "test.txt")
    inputs, targets = next(iter(text.dataset("train", batch_size=32)))
    ```
    """

    name: str
    vocabulary: tuple[str, ...]
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    bptt: int = 35
    random_bptt: bool = True
    pipeline: PipelineOptions = dataclasses.field(default_factory=PipelineOptions)

    image_shape = None  # tokens need no input shape
    kind = "text"  # what a search space must model to run on these data
    source: str | None = None  # where the data came from; default: ``python:<name>``

    def __post_init__(self):
        for split in ("train", "valid", "test"):
            tokens = np.asarray(getattr(self, split), np.int32)
            if tokens.ndim != 1:
                raise ValueError(f"{self.name}/{split}: expected a 1-D token stream.")
            setattr(self, split, tokens)
        if len(self.train) < 2:
            raise ValueError(f"{self.name}: the training split must hold tokens.")
        ids = np.concatenate([self.train, self.valid, self.test])
        if ids.min() < 0 or ids.max() >= len(self.vocabulary):
            raise ValueError(f"{self.name}: token ids must be in 0..{len(self.vocabulary) - 1} "
                             f"(the vocabulary), got {ids.min()}..{ids.max()}.")
        self.source = self.source or f"python:{self.name}"

    @classmethod
    def from_files(cls, train: str, valid: str, test: str, *, name: str = "text",
                   vocabulary_size: int | None = None, **kwargs) -> "TextSplits":
        """Token streams of three text files, tokenised as DARTS reads PTB and WikiText-2:
        words split at white space, ``<eos>`` after every line (blank ones too); the
        vocabulary is the training file's words by frequency (``vocabulary_size``: the
        most frequent, the rest as ``<unk>``).

        Example:

        ```python
        text = TextSplits.from_files("train.txt", "valid.txt", "test.txt")
        ```
        """
        paths = {"train": train, "valid": valid, "test": test}
        splits = {split: read_token_lines(path, keep_blank_lines=True,
                                          missing=f"{path} does not exist ({split} text file).")
                  for split, path in paths.items()}
        vocabulary = build_vocabulary(splits["train"], vocabulary_size)
        if vocabulary_size is None and UNK not in vocabulary:
            vocabulary = (*vocabulary, UNK)  # words of valid/test unseen in training
        return cls(name, vocabulary, *(encode(splits[s], vocabulary)
                                       for s in ("train", "valid", "test")),
                   source=kwargs.pop("source", None) or f"files:{train}", **kwargs)

    @classmethod
    def from_tokens(cls, train: Sequence, valid: Sequence, test: Sequence, *,
                    vocabulary: Sequence[str] | None = None, name: str = "tokens",
                    **kwargs) -> "TextSplits":
        """Token streams of three sequences: words (strings; the vocabulary is the
        training words by frequency, ``<unk>`` for unseen ones) or integer ids (with
        ``vocabulary``, or ids ``0..max`` named ``"0"``, ``"1"``, ...).

        Example:

        ```python
        text = TextSplits.from_tokens("a b a c".split(), "a b".split(), "c a".split())
        ```
        """
        streams = [list(train), list(valid), list(test)]
        words = [t for stream in streams for t in stream[:1]]
        if words and all(isinstance(t, str) for t in words):
            vocabulary = vocabulary or (*build_vocabulary([streams[0]]), UNK)
            index = {w: i for i, w in enumerate(vocabulary)}
            if UNK not in index and any(w not in index for s in streams for w in s):
                raise ValueError(f"a word is not in the vocabulary, which has no {UNK}.")
            ids = [np.asarray([index.get(w, index.get(UNK)) for w in s], np.int32)
                   for s in streams]
        else:
            ids = [np.asarray(s, np.int64) for s in streams]
            if vocabulary is None:
                largest = max(int(s.max()) for s in ids if len(s))
                vocabulary = tuple(str(i) for i in range(largest + 1))
        return cls(name, tuple(vocabulary), *ids, **kwargs)

    @property
    def num_classes(self) -> int:
        return len(self.vocabulary)

    @property
    def metric(self):
        from enas_tf.data.metrics import PERPLEXITY

        return PERPLEXITY

    def for_run(self, config) -> "TextSplits":
        """The same streams (shared) with ``config``'s BPTT and input pipeline."""
        splits = copy.copy(self)
        splits.bptt = int(getattr(config, "bptt", self.bptt))
        splits.random_bptt = bool(getattr(config, "random_bptt", self.random_bptt))
        splits.pipeline = PipelineOptions(config.data_parallel_calls, config.data_prefetch,
                                          config.data_threads)
        return splits

    def stream_length(self, split: str, batch_size: int) -> int:
        """Tokens per stream of ``split`` cut into ``batch_size`` streams."""
        return len(getattr(self, split)) // batch_size

    def steps_per_epoch(self, batch_size: int) -> int:
        """Segments of ``bptt`` tokens in one pass over the training streams."""
        return max(1, (self.stream_length("train", batch_size) - 1) // self.bptt)

    def check_batch_size(self, batch_size: int, splits: Sequence[str] = ("train", "valid")):
        for split in splits:
            if self.stream_length(split, batch_size) < 2:
                raise ValueError(
                    f"batch_size={batch_size} leaves no segment of the {split} split "
                    f"({len(getattr(self, split))} tokens); lower the batch size.")

    def dataset(self, split: str, batch_size: int, *, shuffle_seed: int | None = None,
                augment: bool = False, cutout_size: int = 0, repeat: bool = False,
                drop_remainder: bool = False) -> tf.data.Dataset:
        """``(inputs, targets)`` int32 ``[batch_size, T]`` segments of ``split``.

        ``augment`` (training): consecutive segments of random lengths (enas_lm) seeded
        by ``shuffle_seed``, covering the streams once per repeat. Else with
        ``shuffle_seed``: fixed-length segments at random positions (a random validation
        segment for every reward). Else: consecutive fixed-length segments, the last one
        shorter unless ``drop_remainder`` (evaluation with the state carried over).
        """
        del cutout_size  # images only
        data = batchify(getattr(self, split), batch_size)
        length = data.shape[1] - 1  # the last token has no target
        if length < 1:
            raise ValueError(f"{self.name}/{split} is too short for {batch_size} streams.")
        rng = np.random.default_rng(shuffle_seed)
        if augment and self.random_bptt:
            sizes = random_bptt_lengths(length, self.bptt, rng)
            starts = np.cumsum([0] + sizes[:-1])
        elif shuffle_seed is not None and not augment:
            window = min(self.bptt, length)
            count = max(1, length // window)
            starts = rng.integers(0, length - window + 1, size=count)
            sizes = [window] * count
        else:
            starts = np.arange(0, length, self.bptt)
            sizes = [min(self.bptt, length - s) for s in starts]
            if drop_remainder and len(sizes) > 1 and sizes[-1] < self.bptt:
                starts, sizes = starts[:-1], sizes[:-1]
        streams = tf.constant(data)
        ds = tf.data.Dataset.from_tensor_slices((np.asarray(starts, np.int32),
                                                 np.asarray(sizes, np.int32)))
        if repeat:
            ds = ds.repeat()
        ds = ds.map(lambda start, size: (
            tf.slice(streams, [0, start], [batch_size, size]),
            tf.slice(streams, [0, start + 1], [batch_size, size])))
        prefetch = self.pipeline.prefetch
        return ds.prefetch(tf.data.AUTOTUNE if prefetch == -1 else prefetch)


def tokenize_ptb_style(lines: Sequence[str]) -> list[list[str]]:
    """Lines as PTB writes them: lower case, words only (punctuation dropped), numbers
    as ``N``; empty lines dropped."""
    sentences = []
    for line in lines:
        words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", line.lower())
        words = ["N" if re.fullmatch(r"[0-9]+", w) else w for w in words]
        if words:
            sentences.append(words)
    return sentences


def build_vocabulary(sentences: Sequence[Sequence[str]], max_size: int | None = None
                     ) -> tuple[str, ...]:
    """Words by decreasing frequency (ties alphabetically), ``<eos>`` included; with
    ``max_size``, the most frequent ``max_size - 1`` and ``<unk>``."""
    counts = collections.Counter(w for s in sentences for w in s)
    counts[EOS] += len(sentences)
    words = [w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    if max_size is not None and len(words) >= max_size:
        words = [w for w in words if w != UNK][:max_size - 1] + [UNK]
    return tuple(words)


def encode(sentences: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> np.ndarray:
    """Token ids of the sentences, each followed by ``<eos>``; unknown words as ``<unk>``
    (which must then be in the vocabulary)."""
    index = {w: i for i, w in enumerate(vocabulary)}
    unk = index.get(UNK)
    ids = []
    for sentence in sentences:
        for word in [*sentence, EOS]:
            if word not in index and unk is None:
                raise ValueError(f"word {word!r} is not in the vocabulary, which has no {UNK}.")
            ids.append(index.get(word, unk))
    return np.asarray(ids, np.int32)


def read_token_lines(path: str, keep_blank_lines: bool, missing: str) -> list[list[str]]:
    """The white-space separated words of each line of ``path`` (blank lines as empty
    sentences if ``keep_blank_lines``); ``DataNotFoundError`` if it cannot be read
    (``missing``: the message when it does not exist)."""
    if not os.path.isfile(path):
        raise DataNotFoundError(missing)
    try:
        with open(path, encoding="utf-8") as f:
            return [line.split() for line in f if keep_blank_lines or line.strip()]
    except UnicodeDecodeError as error:
        raise DataNotFoundError(f"{path} is not UTF-8 text ({error.reason} at byte "
                                f"{error.start}).") from None


def load_token_files(name: str, data_dir: str | None, files: dict[str, str], help_text: str,
                     keep_blank_lines: bool, source: str | None = None,
                     add_unk: bool = False) -> TextSplits:
    """Train/valid/test files ``files`` in ``data_dir``; the vocabulary is the training
    split's words (with ``add_unk``, plus ``<unk>`` for words only valid/test have; else
    such a word is an error, as in a corpus whose training text has ``<unk>`` already);
    ``DataNotFoundError`` naming a missing file and where it comes from."""
    if not data_dir:
        raise DataNotFoundError(f"--data_dir must name the directory of the {name} files. "
                                f"{help_text}.")
    splits = {}
    for split, filename in files.items():
        path = os.path.join(data_dir, filename)
        splits[split] = read_token_lines(path, keep_blank_lines,
                                         missing=f"{path} does not exist. {help_text}.")
    vocabulary = build_vocabulary(splits["train"])
    unseen = {w for s in ("valid", "test") for line in splits[s] for w in line} - set(vocabulary)
    if add_unk and unseen and UNK not in vocabulary:
        vocabulary = (*vocabulary, UNK)
    return TextSplits(name, vocabulary, *(encode(splits[s], vocabulary)
                                          for s in ("train", "valid", "test")),
                      source=source or name)


def load_ptb(data_dir: str | None) -> TextSplits:
    """Penn Treebank from ``data_dir``; ``DataNotFoundError`` naming a missing file."""
    return load_token_files("ptb", data_dir, PTB_FILES, PTB_HELP, keep_blank_lines=False)


def load_wikitext2(data_dir: str | None) -> TextSplits:
    """WikiText-2 from ``data_dir`` (33,278 words with ``<unk>`` and ``<eos>``; blank
    lines count, as in DARTS's and AWD-LSTM's reported perplexities)."""
    return load_token_files("wikitext2", data_dir, WIKITEXT2_FILES, WIKITEXT2_HELP,
                            keep_blank_lines=True)


def load_text_dir(data_dir: str) -> TextSplits:
    """``train.txt``, ``valid.txt`` and ``test.txt`` of a user's directory
    (``--dataset=text:DIR``), read as WikiText-2."""
    return load_token_files(os.path.basename(os.path.normpath(data_dir)) or "text", data_dir,
                            TEXT_FILES, TEXT_HELP, keep_blank_lines=True,
                            source=f"text:{data_dir}", add_unk=True)


def load_python_docs(vocabulary_size: int = QUICKSTART_VOCAB) -> TextSplits:
    """The Python documentation's help topics (``pydoc_data``), PTB-style, in topic order
    and cut by sentences into the first 80% (train), the next 10% (valid) and the last
    10% (test); offline."""
    from pydoc_data import topics

    sentences = [s for name in sorted(topics.topics)
                 for s in tokenize_ptb_style(topics.topics[name].splitlines())]
    cuts = [int(len(sentences) * 0.8), int(len(sentences) * 0.9)]
    splits = sentences[:cuts[0]], sentences[cuts[0]:cuts[1]], sentences[cuts[1]:]
    vocabulary = build_vocabulary(splits[0], vocabulary_size)
    return TextSplits("python_docs", vocabulary, *(encode(s, vocabulary) for s in splits))
