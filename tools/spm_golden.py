"""SentencePiece fixtures for tests/text/sentencepiece_test.ts: a small unigram model trained on
the NSMC training split and the reference library's ids and offsets for NSMC evaluation
documents plus adversarial strings. CI never runs this; it only reads what it wrote.

Regenerate (Debian's packages are the reference):
  apt-get install -y python3-sentencepiece sentencepiece
  /usr/bin/python3 tools/spm_golden.py [../shared/data/nsmc/ratings_test.txt]

Writes tests/fixtures/sentencepiece/{nsmc_unigram.model, golden.jsonl}. The split is the one of
issue 12: the first 40,000 data rows train, the rows after them evaluate.
"""

import json
import os
import subprocess
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "sentencepiece")
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    HERE, "..", "..", "shared", "data", "nsmc", "ratings_test.txt")
TRAIN_ROWS = 40000
EVAL_EVERY = 4  # every 4th evaluation row: ~2,500 documents spread over the split

ADVERSARIAL = [
    "",
    " ",
    "   \t  ",
    "  multiple   spaces   inside  ",
    "\ttabs\tand\nnewlines\r\nhere\t",
    "ＦＵＬＬ－ＷＩＤＴＨ　１２３！",
    "㈜삼성 ﬁlm ﬂow ㎏ ℡ ① ½",
    "ﾊﾝｶｸ ｶﾀｶﾅ ｧ",
    "e\u0301 cafe\u0301 A\u030a",
    "\u1112\u1161\u11ab \u1100\u1173\u11af",
    "emoji 😀👍🏻 좋아요 👨‍👩‍👧 🇰🇷",
    "𠀀𠀁𠀂 unknown ꙮꙮꙮ ꙮ",
    "[MASK] [CLS] [SEP] [PAD] [UNK] <unk> <s>",
    "[MASK][MASK]x[MASK]",
    "zero\u200bwidth\u200d joiner \ufeffbom",
    "nbsp\u00a0here\u3000ideographic",
    "control\u0001\u0002\u007f chars \u0000 nul",
    "▁ already ▁▁ escaped▁",
    "ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ ㅠㅠ ㅎㅎ",
    "…‥ “quotes” ‘single’ — –",
    "ǅ Ǆ ǆ ß ẞ İ",
    "ABC abc 123 4567890 3.14 1,000원",
    "가" * 40,
    "x",
    " 앞뒤 공백 ",
]


def read_rows(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0].split("\t") == ["id", "document", "label"], lines[0]
    return [l.split("\t")[1] for l in lines[1:] if l]


def utf16_at(text, offsets):
    """The binding's code-point offsets -> UTF-16 offsets (what JS strings index)."""
    return [len(text[:i].encode("utf-16-le")) // 2 for i in offsets]


def main():
    docs = read_rows(DATA)
    train, evaluation = docs[:TRAIN_ROWS], docs[TRAIN_ROWS:]
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "train.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(d for d in train if d.strip()) + "\n")
        # KoBERT's layout: [UNK] [PAD] [CLS] [SEP] first, [MASK] a user-defined piece.
        subprocess.run([
            "spm_train", f"--input={corpus}", f"--model_prefix={tmp}/m", "--vocab_size=8000",
            "--model_type=unigram", "--character_coverage=0.9995", "--num_threads=1",
            "--unk_id=0", "--pad_id=1", "--bos_id=2", "--eos_id=3", "--unk_piece=[UNK]",
            "--pad_piece=[PAD]", "--bos_piece=[CLS]", "--eos_piece=[SEP]",
            "--user_defined_symbols=[MASK]", "--minloglevel=2",
        ], check=True)
        with open(f"{tmp}/m.model", "rb") as f:
            model = f.read()
    with open(os.path.join(OUT, "nsmc_unigram.model"), "wb") as f:
        f.write(model)
    sp = spm.SentencePieceProcessor(model_proto=model)
    cases = [("adversarial", t) for t in ADVERSARIAL]
    cases += [("nsmc", d) for d in evaluation[::EVAL_EVERY] if d]
    with open(os.path.join(OUT, "golden.jsonl"), "w", encoding="utf-8") as f:
        for kind, text in cases:
            p = sp.encode(text, out_type="immutable_proto")
            ids = [x.id for x in p.pieces]
            assert ids == sp.encode(text), text
            begins = utf16_at(text, [x.begin for x in p.pieces])
            ends = utf16_at(text, [x.end for x in p.pieces])
            row = {"kind": kind, "text": text, "ids": ids,
                   "offsets": [v for be in zip(begins, ends) for v in be]}
            if kind == "adversarial":  # the pieces follow from the ids, but for unknown runs
                row["pieces"] = [x.piece for x in p.pieces]
                row["decoded"] = sp.decode(ids)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases, model {len(model)} bytes")


if __name__ == "__main__":
    main()
