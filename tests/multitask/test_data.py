"""Task construction, splits, GLUE input checks, tokenization and batching."""

import numpy as np
import pytest
import torch

from paperzoo.core.errors import DataError, UserError
from paperzoo.multitask import data as D


def test_acceptability_task_is_balanced_and_holds_out_one_novel():
    text = " ".join(f"The {w} was walking to the house of her friend in the morning." for w in
                    ["girl", "man", "dog", "cat", "boy", "aunt", "horse", "maid"] * 10)
    books = {"emma": text, "persuasion": text.replace("morning", "evening")}
    task = D.acceptability_task(books, "persuasion", seed=0)
    assert task.metric == "mcc" and task.label_names == ["unacceptable", "acceptable"]
    assert all("evening" in x for x in task.test_x) and all("morning" in x for x in task.train_x)
    assert 0.35 < np.mean(task.train_y) < 0.65
    originals = set(D.austen_sentences(text))
    assert all((x in originals) == bool(y) for x, y in zip(task.train_x, task.train_y, strict=True))
    with pytest.raises(UserError, match="accept_test_book"):
        D.acceptability_task(books, "dracula")


def test_corruptions_change_the_sentence():
    rng = np.random.default_rng(0)
    words = "She was not at all afraid of the dark".split()
    outs = [D.corrupt(words, rng) for _ in range(60)]
    assert all(o != words for o in outs)
    assert any(len(o) == len(words) - 1 for o in outs) and any(len(o) == len(words) + 1 for o in outs)
    assert any(len(o) == len(words) and sorted(o) == sorted(words) for o in outs)  # a swap


def test_lee_pairs_split_by_document():
    docs = [f"doc {i}" for i in range(12)]
    sim = np.triu(np.random.default_rng(0).random((12, 12)))
    task = D.lee_task(docs, sim, 0.3, seed=0)
    train_docs = {d for pair in task.train_x for d in pair}
    test_docs = {d for pair in task.test_x for d in pair}
    assert train_docs and test_docs and not train_docs & test_docs
    n_tr, n_te = len(train_docs), len(test_docs)
    assert len(task.train_x) == n_tr * (n_tr - 1) // 2 and len(task.test_x) == n_te * (n_te - 1) // 2
    assert task.kind == "regression" and all(isinstance(y, float) for y in task.train_y)


def test_splits_are_deterministic_and_stratified():
    assert [D.in_test(f"k{i}", 0.3) for i in range(50)] == [D.in_test(f"k{i}", 0.3) for i in range(50)]
    assert 5 < sum(D.in_test(f"k{i}", 0.3) for i in range(100)) < 50
    labels = [0] * 70 + [1] * 30
    tr, te = D.stratified_split(labels, 0.3, seed=1)
    assert sorted(tr + te) == list(range(100)) and sum(labels[i] for i in te) == 9 and len(te) == 30


def test_task_data_refuses_empty_splits_and_bad_labels():
    with pytest.raises(DataError, match="test split is empty"):
        D.TaskData("t", "classification", "acc", ["a", "b"], [0, 1], [], [])
    with pytest.raises(DataError, match="integer labels"):
        D.TaskData("t", "classification", "acc", ["a", "b"], ["pos", "neg"], ["c"], [0])
    with pytest.raises(DataError, match="2 train inputs but 1"):
        D.TaskData("t", "classification", "acc", ["a", "b"], [0], ["c"], [0])


def _glue(tmp_path, name, train, dev):
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    (tmp_path / name / "train.tsv").write_text(train)
    (tmp_path / name / "dev.tsv").write_text(dev)


def test_glue_tasks_and_their_bad_inputs(tmp_path):
    rows = "".join(f"src\t{i % 2}\t*\tsentence {i}\n" for i in range(6))
    _glue(tmp_path, "CoLA", rows, rows)
    cola = D.build_task("cola", D.Sources(glue=str(tmp_path)))
    assert cola.metric == "mcc" and cola.train_y == [0, 1, 0, 1, 0, 1]
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    body = "".join(f"{i}\tg\tf\ty\to\ts\ts\ta {i}\tb {i}\t{i / 2}\n" for i in range(4))
    _glue(tmp_path, "STS-B", header + body, header + body)
    sts = D.build_task("stsb", D.Sources(glue=str(tmp_path)))
    assert sts.kind == "regression" and sts.train_x[1] == ("a 1", "b 1") and sts.train_y[1] == 0.5
    _glue(tmp_path, "STS-B", header + body.replace("\t1.0\n", "\thigh\n"), header + body)
    with pytest.raises(DataError, match="must be numbers"):
        D.build_task("stsb", D.Sources(glue=str(tmp_path)))
    _glue(tmp_path, "MNLI", "sentence1\tgold_label\na\tx\n", "sentence1\tgold_label\na\tx\n")
    with pytest.raises(DataError, match="missing GLUE columns"):
        D.build_task("mnli", D.Sources(glue=str(tmp_path)))
    with pytest.raises(UserError, match="data.path"):
        D.build_task("cola", D.Sources())
    with pytest.raises(UserError, match="unknown task"):
        D.build_task("squad", D.Sources())


def test_summarisation_folder_with_train_and_test_files(tmp_path):
    for part in ("train", "test"):
        (tmp_path / f"{part}.jsonl").write_text('{"document": "a b c", "summary": "a"}\n' * 3)
    task = D.build_task("jsonl", D.Sources(summ=str(tmp_path)))
    assert task.kind == "summarisation" and len(task.train_x) == 3 and task.test_y == ["a"] * 3
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError, match="empty"):
        D.build_task("jsonl", D.Sources(summ=str(tmp_path / "empty.jsonl")))


def test_cap_is_the_same_for_every_call():
    task = D.TaskData("t", "classification", "acc", [f"x{i}" for i in range(50)], [i % 2 for i in range(50)],
                      ["y"], [0])
    a, b = D.cap(task, 10, 0), D.cap(task, 10, 0)
    assert a.train_x == b.train_x and len(a.train_x) == 10 and a.test_x == ["y"]


class _Tok:
    """The few tokenizer calls the encoder needs, on whitespace 'tokens' (ids = word lengths + 10)."""

    pad_token_id, cls_token_id, sep_token_id = 0, 1, 2

    def __call__(self, a, b=None, truncation=True, max_length=8, add_special_tokens=True):
        out = {"input_ids": [], "token_type_ids": []}
        for i, text in enumerate(a):
            ids = [len(w) + 10 for w in text.split()]
            types = [0] * len(ids)
            if add_special_tokens:
                ids, types = [1, *ids, 2], [0, *types, 0]
                if b is not None:
                    extra = [len(w) + 10 for w in b[i].split()] + [2]
                    ids, types = ids + extra, types + [1] * len(extra)
            if add_special_tokens and len(ids) > max_length:  # like HF truncation: the final [SEP] stays
                ids, types = ids[: max_length - 1] + [2], types[:max_length]
            out["input_ids"].append(ids[:max_length])
            out["token_type_ids"].append(types[:max_length])
        return out


def test_encoding_collate_and_batch_stream():
    enc = D.Encoder(_Tok(), max_len=8, src_len=6, tgt_len=4)
    task = D.TaskData("p", "regression", "pearson", [("aa b", "ccc"), ("d", "ee")], [0.1, 0.9], [("a", "b")], [0.5])
    split = enc.split(task, task.train_x, task.train_y)
    assert split.ids[0] == [1, 12, 11, 2, 13, 2] and split.types[0] == [0, 0, 0, 0, 1, 1]
    b = D.collate(split, [0, 1], "regression", 0, 1, 2)
    assert b.ids.shape == (2, 6) and b.mask[1].tolist() == [1, 1, 1, 1, 1, 0] and b.y.dtype == torch.float32
    summ = D.TaskData("s", "summarisation", "rougeL", ["aa bb cc dd ee"], ["xx yy zz"], ["a"], ["b"])
    s = enc.split(summ, summ.train_x, summ.train_y)
    assert s.targets == [[12, 12, 12, 2]] and s.refs == ["xx yy zz"]
    bs = D.collate(s, [0], "summarisation", 0, 1, 2)
    assert bs.tgt_in.tolist() == [[1, 12, 12, 12]] and bs.tgt_out.tolist() == [[12, 12, 12, 2]]
    assert bs.copy_keep.tolist() == [[False, True, True, True, True, False]]
    stream = D.BatchStream([3, 1, 2, 5, 4, 6, 2], batch_size=3, seed=0)
    epoch = [stream.next() for _ in range(3)]
    assert sorted(i for b in epoch for i in b) == list(range(7)) and stream.epochs == 1
