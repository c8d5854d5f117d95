"""Chinese tokenisation backends: ``jieba`` (the reference) and ``rjieba`` (a Rust port, ~10× faster).

Both get the same user words (the run's competency dictionary: keywords and evidence phrases) so domain terms
such as 客户尽职调查 stay whole. A fitted scorer stores its user words and adds them again wherever it is loaded.
Segmenters keep their user words per process: words added for one dictionary stay for the next (they only keep
domain terms whole; a scorer's features depend on the words it was trained with, which it always re-adds).
"""

from __future__ import annotations

import threading

__all__ = ["BACKENDS", "get_tokenizer", "raw_cutter", "tokenize_jieba", "tokenize_rjieba"]

BACKENDS = ("jieba", "rjieba")
_lock = threading.Lock()
_added: dict[str, set[str]] = {"jieba": set(), "rjieba": set()}
_initialised: set[str] = set()


def _default_words() -> tuple[str, ...]:
    from ..competency import load_dictionary

    return tuple(load_dictionary().user_words())


def _prepare(backend: str, words) -> None:
    with _lock:
        if backend not in _initialised and backend == "jieba":
            import jieba

            jieba.setLogLevel(60)
        _initialised.add(backend)
        new = [w for w in words if w not in _added[backend]]
        if not new:
            return
        if backend == "jieba":
            import jieba

            for word in new:
                jieba.add_word(word, freq=20000)
        else:
            import rjieba

            for word in new:
                rjieba.add_word(word, 20000, None)
        _added[backend].update(new)


def raw_cutter(backend: str, user_words=None):
    """The backend's own ``text → list[str]`` with ``user_words`` added (default: the default dictionary's).

    Whitespace tokens are included, so the tokens of a text always join back to the text.
    """
    if backend not in BACKENDS:
        raise ValueError(f"tokenizer must be one of {BACKENDS}, got {backend!r}")
    _prepare(backend, _default_words() if user_words is None else user_words)
    if backend == "jieba":
        import jieba

        return jieba.lcut
    import rjieba

    return rjieba.cut


def tokenize_jieba(text: str) -> list[str]:
    return [t for t in raw_cutter("jieba")(text) if t.strip()]


def tokenize_rjieba(text: str) -> list[str]:
    return [t for t in raw_cutter("rjieba")(text) if t.strip()]


def get_tokenizer(backend: str):
    if backend == "jieba":
        return tokenize_jieba
    if backend == "rjieba":
        return tokenize_rjieba
    raise ValueError(f"tokenizer must be one of {BACKENDS}, got {backend!r}")
