"""The synthetic sign language and the Progressive Transformers file layout."""

import numpy as np
import pytest

from paperzoo.core.errors import DataError
from paperzoo.signprod.data import SignLanguage, SyntheticConfig, counter, q_to_angles, rest_q
from paperzoo.signprod.formats import format_frames, parse_skels_line, read_pt, read_skels, write_pt
from paperzoo.signprod.skeleton import BONE_LENGTHS, BONES, N_JOINTS, bone_lengths, forward_kinematics

SMALL = dict(n_glosses=30, n_train=12, n_dev=3, n_test=4, max_glosses=5, frames_per_gloss=5)


@pytest.fixture(scope="module")
def corpus():
    return SignLanguage(SyntheticConfig(**SMALL)).corpus()


def test_counter_is_t_over_T_and_never_reaches_one():
    c = counter(4)
    assert c.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert counter(1).tolist() == [0.0]


def test_generated_frames_follow_the_pt_convention(corpus):
    for seq in corpus.splits["train"]:
        T = len(seq)
        assert seq.frames.shape == (T, 151) and seq.frames.dtype == np.float32
        np.testing.assert_allclose(seq.frames[:, -1], np.round(np.arange(T) / T, 5), atol=1e-7)
        assert np.all(seq.frames[:, 3:6] == 0), "the neck (joint 1) is the origin in every frame"
        assert seq.alignment.shape == (T,) and seq.alignment[0] == 0 and seq.alignment[-1] == len(seq.glosses) - 1
        assert np.all(np.diff(seq.alignment) >= 0) and set(seq.alignment) == set(range(len(seq.glosses)))
        assert seq.text.endswith(" .") and len(seq.text.split()) > len(seq.glosses)
    values = np.concatenate([s.joints for s in corpus.splits["train"]])
    assert -0.6 < values.min() < -0.1 and 0.2 < values.max() < 0.8  # PT: about [-0.44, 0.69]


def test_forward_kinematics_never_stretches_a_bone():
    rng = np.random.default_rng(0)
    angles = rng.uniform(-np.pi, np.pi, (20, N_JOINTS, 3))
    for scale in (1.0, 0.9):
        lengths = bone_lengths(forward_kinematics(angles, scale))
        np.testing.assert_allclose(lengths, np.broadcast_to(scale * BONE_LENGTHS, lengths.shape), rtol=1e-12)
    rest = forward_kinematics(np.zeros((1, N_JOINTS, 3)))[0]
    assert np.allclose(rest[4], rest[29]) and np.allclose(rest[7], rest[8]), "hand wrists coincide with arm wrists"
    assert rest[2, 0] < 0 < rest[5, 0] and np.isclose(rest[2, 1], rest[5, 1]), "shoulders mirror each other"


def test_bone_lengths_are_constant_within_a_generated_sequence(corpus):
    for seq in corpus.splits["train"][:5]:
        lengths = bone_lengths(seq.joints)
        rel = np.abs(lengths / np.median(lengths, axis=0) - 1)
        assert rel.max() < 0.01, "bones vary by more than 1 % (rounding to 5 decimals only)"
        left = [k for k, (_, j) in enumerate(BONES) if 5 <= j <= 28]
        right = [k for k, (_, j) in enumerate(BONES) if 2 <= j <= 4 or 29 <= j]
        np.testing.assert_allclose(np.sort(lengths[0, left]), np.sort(lengths[0, right]), rtol=0.01)


def test_pose_parameters_map_the_rest_pose_symmetrically():
    p = forward_kinematics(q_to_angles(rest_q()[None]))[0]
    mirrored = p[[0, 1, 5, 6, 7, 2, 3, 4]] * np.array([-1, 1, 1])
    np.testing.assert_allclose(p[:8], mirrored, atol=1e-12)


def test_pt_layout_round_trip_is_exact(tmp_path, corpus):
    write_pt(corpus, tmp_path)
    assert (tmp_path / "src_vocab.txt").read_text().split("\n")[:4] == ["<unk>", "<pad>", "<s>", "</s>"]
    back = read_pt(tmp_path)
    assert back.glosses == corpus.glosses
    for split, seqs in corpus.splits.items():
        for a, b in zip(seqs, back.splits[split], strict=True):
            assert a.name == b.name and a.glosses == b.glosses and a.text == b.text
            assert np.array_equal(a.frames, b.frames) and np.array_equal(a.alignment, b.alignment)


def test_full_precision_round_trip_of_arbitrary_float32(tmp_path):
    x = np.random.default_rng(1).normal(0, 0.2, (7, 151)).astype(np.float32)
    x[:, -1] = np.arange(7) / 7
    assert np.array_equal(parse_skels_line(format_frames(x, None), tmp_path, 1), x)
    assert not np.array_equal(parse_skels_line(format_frames(x, 3), tmp_path, 1), x)


@pytest.mark.parametrize("line,why", [
    ("0.1 " * 150, "150 values, not a multiple of 151"),
    ("0.1 " * 150 + "abc", "value 'abc' is not a number"),
    ("0.1 " * 150 + "1.0", "counter 1, outside [0, 1)"),
    ("0.1 " * 150 + "-0.5", "counter -0.5, outside [0, 1)"),
    ("0.1 " * 150 + "nan", "NaN or infinite"),
])
def test_malformed_skels_lines_name_the_file_and_line(tmp_path, line, why):
    good = " ".join(["0.0"] * 150 + ["0.0"])
    path = tmp_path / "test.skels"
    path.write_text(good + "\n" + good + "\n" + line + "\n")
    with pytest.raises(DataError) as info:
        read_skels(path)
    assert f"{path} line 3" in str(info.value) and why in str(info.value)


def test_pt_folder_errors_name_what_is_missing(tmp_path, corpus):
    with pytest.raises(DataError, match="no train.skels, dev.skels, test.skels"):
        read_pt(tmp_path)
    write_pt(corpus, tmp_path)
    (tmp_path / "dev.gloss").write_text("A B\n")
    with pytest.raises(DataError, match=r"dev.gloss: 1 lines but dev.skels has 3 sequences"):
        read_pt(tmp_path)
    (tmp_path / "dev.gloss").unlink()
    with pytest.raises(DataError, match="dev.skels has no dev.gloss"):
        read_pt(tmp_path)
    write_pt(corpus, tmp_path)
    (tmp_path / "src_vocab.txt").write_text("A\nB\n")
    with pytest.raises(DataError, match="starts with <unk> <pad> <s> </s>"):
        read_pt(tmp_path)


def test_the_generator_is_deterministic_and_seeded():
    a = SignLanguage(SyntheticConfig(**SMALL)).corpus()
    b = SignLanguage(SyntheticConfig(**SMALL)).corpus()
    c = SignLanguage(SyntheticConfig(**SMALL, seed=7)).corpus()
    assert all(np.array_equal(x.frames, y.frames) for x, y in zip(a.splits["test"], b.splits["test"], strict=True))
    assert not np.array_equal(a.splits["test"][0].frames[:3], c.splits["test"][0].frames[:3])
