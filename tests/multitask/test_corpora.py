"""Readers of the man-page, Reuters, gensim, Wikipedia, CNN/DailyMail and JSONL formats, on files written here."""

import gzip
import json
import pickle
import zlib

import numpy as np
import pytest

from paperzoo.core.errors import DataError, UserError
from paperzoo.multitask import corpora as C

MAN = r""".\" Copyright notice
.TH READ 2 2023-02-05 "Linux man-pages 6.03"
.SH NAME
read \- read from a file descriptor
.SH SYNOPSIS
.B #include <unistd.h>
.SH DESCRIPTION
.BR read ()
attempts to read up to
.I count
bytes from file descriptor
.IR fd .
.PP
On files that support seeking, the read operation commences at the file offset.
.TS
tab;
l l.
a	b
.TE
It\(aqs \fBfine\fP \- really.
.SH RETURN VALUE
On success, the number of bytes read is returned.
"""


def _gz(path, text):
    path.write_bytes(gzip.compress(text.encode()))
    return path


def test_man_page_description_to_name_summary(tmp_path):
    pair = C.parse_man_page(_gz(tmp_path / "read.2.gz", MAN))
    assert pair.target == "read from a file descriptor"
    assert pair.key == "read"
    assert pair.source.startswith("read() attempts to read up to count bytes from file descriptor fd. On files")
    assert "It's fine - really." in pair.source and "tab;" not in pair.source and "RETURN" not in pair.source
    assert C.parse_man_page(_gz(tmp_path / "a.3.gz", MAN), max_words=5).source == "read() attempts to read up"


def test_man_tree_skips_aliases_and_deduplicates(tmp_path):
    (tmp_path / "man2").mkdir()
    (tmp_path / "man3").mkdir()
    _gz(tmp_path / "man2" / "read.2.gz", MAN)
    _gz(tmp_path / "man3" / "copy.3.gz", MAN)  # same DESCRIPTION: kept once
    _gz(tmp_path / "man3" / "pread.3.gz", '.\\" alias\n.so man2/read.2\n')
    (tmp_path / "man3" / "link.3.gz").symlink_to(tmp_path / "man2" / "read.2.gz")
    _gz(tmp_path / "man3" / "broken.3.gz", ".TH X\n.SH SYNOPSIS\nnothing\n")  # no NAME: skipped
    pairs = C.load_man_pages(tmp_path)
    assert [p.key for p in pairs] == ["read"]  # man2/read.2 comes first; copy.3 repeats its DESCRIPTION
    assert C.parse_man_page(tmp_path / "man3" / "pread.3.gz") is None
    with pytest.raises(DataError, match="NAME"):
        C.parse_man_page(tmp_path / "man3" / "broken.3.gz")
    with pytest.raises(DataError, match="no man pages"):
        C.load_man_pages(tmp_path / "man2")


def test_groff_escapes():
    assert C.groff_plain(r"\fBbold\fR \(em \-n \e \(dqq\(dq \*(lqx\*(rq \s-1SMALL\s0") == 'bold - -n \\ "q" x SMALL'


REUTERS = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" NEWID="7"><TEXT>&#2;
<TITLE>OIL PRICES &amp; OUTPUT FALL</TITLE>
<DATELINE>NEW YORK, March 2 - </DATELINE><BODY>Oil prices fell sharply
today, traders said.
 Reuter
&#3;</BODY></TEXT></REUTERS>
<REUTERS NEWID="8"><TEXT TYPE="BRIEF"><TITLE>NO BODY HERE</TITLE></TEXT></REUTERS>
"""


def test_reuters_sgml_body_to_title(tmp_path):
    f = tmp_path / "reut2-000.sgm"
    f.write_text(REUTERS)
    pairs = C.parse_reuters(f)
    assert len(pairs) == 1  # the brief without a body is skipped
    assert pairs[0].target == "OIL PRICES & OUTPUT FALL"
    assert pairs[0].source == "Oil prices fell sharply today, traders said." and pairs[0].key == "7"
    (tmp_path / "other.xml").write_text("<doc>not reuters</doc>")
    assert [p.key for p in C.load_reuters(tmp_path)] == ["7"]
    with pytest.raises(DataError, match="REUTERS"):
        C.parse_reuters(tmp_path / "other.xml")


class Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_mini_newsgroup_loads_a_bunch_and_refuses_code(tmp_path):
    from sklearn.utils import Bunch

    posts = ["From: a@b\nNewsgroups: sci.space\nSubject: x\n\nThe shuttle flew.\n> quoted line\nbye",
             "Newsgroups: alt.atheism\n\nIn article <1@x> someone writes:\nNo gods here."]
    bunch = Bunch(data=posts, target=np.array([1, 0]), target_names=["alt.atheism", "sci.space"], DESCR=None)
    good = tmp_path / "mini_newsgroup"
    good.write_bytes(zlib.compress(pickle.dumps(bunch, protocol=2)))
    texts, labels, names = C.load_mini_newsgroup(good)
    assert texts == ["The shuttle flew. bye", "No gods here."]  # headers (which name the label) and quotes gone
    assert labels == [1, 0] and names == ["alt.atheism", "sci.space"]
    evil = tmp_path / "evil"
    evil.write_bytes(zlib.compress(pickle.dumps({"data": Evil()}, protocol=2)))
    with pytest.raises(DataError, match="refusing"):
        C.load_mini_newsgroup(evil)


def test_pang_lee_lee_and_wiki(tmp_path):
    f = tmp_path / "pol.cor"
    f.write_text("__label__pos a fine film .\n\n__label__neg dull .\n")
    assert C.load_pang_lee(f) == (["a fine film .", "dull ."], [1, 0])
    f.write_text("__label__maybe what\n")
    with pytest.raises(DataError, match="line 1"):
        C.load_pang_lee(f)
    (tmp_path / "lee.cor").write_text("doc one\ndoc two\n")
    (tmp_path / "similarities0-1.txt").write_text("1\t0.5\n0\t1\n")
    docs, sim = C.load_lee(tmp_path)
    assert docs == ["doc one", "doc two"] and sim[0, 1] == 0.5
    (tmp_path / "similarities0-1.txt").write_text("1\t0.5\t0.2\n")
    with pytest.raises(DataError, match="2x2"):
        C.load_lee(tmp_path)
    wiki = ("<mediawiki><page><title>Albedo</title><ns>0</ns><text>'''Albedo''' {{IPA|x}} is the [[diffuse "
            "reflection|reflectivity]] of a surface.<ref>cite</ref> " + "word " * 20 + "\n==History==\nlater"
            "</text></page><page><title>Talk:X</title><ns>1</ns><text>" + "w " * 30 + "</text></page></mediawiki>")
    (tmp_path / "dump.xml").write_text(wiki)
    pairs = C.parse_wiki_dump(tmp_path / "dump.xml")
    assert len(pairs) == 1 and pairs[0].target == "Albedo"
    assert pairs[0].source.startswith("Albedo is the reflectivity of a surface. word") and "History" not in \
        pairs[0].source


def test_cnn_story_and_jsonl(tmp_path):
    story = tmp_path / "abc.story"
    story.write_text("(CNN) -- The first line.\n\nSecond line.\n\n@highlight\n\nA point\n\n@highlight\n\nAnother.\n")
    pair = C.parse_story(story)
    assert pair.source == "(CNN) -- The first line. Second line." and pair.target == "A point . Another."
    story.write_text("only an article, no highlights\n")
    with pytest.raises(DataError, match="@highlight"):
        C.parse_story(story)
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"document": "d", "summary": "s", "id": "9"}) + "\n")
    assert C.load_jsonl_pairs(f)[0].key == "9"
    f.write_text(json.dumps({"document": "d"}) + "\n")
    with pytest.raises(DataError, match="'summary'"):
        C.load_jsonl_pairs(f)
    f.write_text('{"document": 3, "summary": "s"}\n')
    with pytest.raises(DataError, match="strings"):
        C.load_jsonl_pairs(f)
    f.write_text("not json\n")
    with pytest.raises(UserError, match="line 1"):
        C.load_jsonl_pairs(f)
