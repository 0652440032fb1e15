"""`rag check DRAFT`: a writer's draft checked sentence by sentence against the corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rag.cli import main
from rag.config import Settings
from rag.drafts import (
    DraftError,
    DraftReport,
    DraftSentence,
    check_draft,
    draft_markdown,
    parse_draft,
    read_draft,
    render_draft_table,
)
from rag.llm import EmbeddedLLM
from rag.schema import Citation
from rag.verify import Checker

F003 = "003_485a1d3910fdc11f.txt"
F001 = "001_71d083e565e71189.txt"


def source_text(settings: Settings, file: str) -> str:
    return (settings.corpus_dir / file).read_text(encoding="utf-8")


def lines_of(settings: Settings, file: str, a: int, b: int) -> str:
    return "\n".join(source_text(settings, file).split("\n")[a - 1 : b])


def only(report: DraftReport) -> DraftSentence:
    assert len(report.sentences) == 1, report.sentences
    return report.sentences[0]


def assert_exact(settings: Settings, s: DraftSentence) -> None:
    """The citation is the file's exact text at its offsets, on its lines; the quote lies
    within it."""
    assert s.citation is not None and s.quote is not None
    c = s.citation
    text = source_text(settings, c.file)
    assert text[c.char_start : c.char_end] == c.quote
    assert text.count("\n", 0, c.char_start) + 1 == c.line_start
    assert text.count("\n", 0, max(c.char_end - 1, c.char_start)) + 1 == c.line_end
    assert s.quote in c.quote
    assert s.source == c.location


# --- cited sentences --------------------------------------------------------------------------


def test_correct_cited_sentence_is_supported(corpus_index: Settings) -> None:
    s = only(
        check_draft(
            "Junyang Lin was appointed technical lead of Tongyi Qwen at just 29 [003:27].",
            corpus_index,
        )
    )
    assert s.verdict == "supported"
    assert s.citation_written == "[003:27]"
    assert not s.proposed
    assert s.text == "Junyang Lin was appointed technical lead of Tongyi Qwen at just 29."
    assert s.citation is not None and s.citation.file == F003 and s.citation.line_start == 27
    assert_exact(corpus_index, s)


def test_wrong_number_with_citation_is_unsupported(corpus_index: Settings) -> None:
    s = only(
        check_draft(
            f"Under his leadership the Qwen series passed 700 million global downloads [{F003}:31].",
            corpus_index,
        )
    )
    assert s.verdict == "unsupported"
    assert "number" in s.reason
    assert s.source is not None and s.source.startswith(F003 + ":31")
    # the right figure with the same citation passes
    right = only(
        check_draft(
            f"Under his leadership the Qwen series passed 600 million global downloads [{F003}:31].",
            corpus_index,
        )
    )
    assert right.verdict == "supported"


def test_line_range_citation(corpus_index: Settings) -> None:
    report = check_draft(
        "The Alibaba Qwen team open-sourced four compact Qwen3.5 models [003:19-21].\n"
        f"The 32-year-old tech prodigy chose to say goodbye two days later [{F003}: lines 19-21].\n",
        corpus_index,
    )
    assert [s.verdict for s in report.sentences] == ["supported", "supported"]
    for s in report.sentences:
        assert s.citation is not None
        assert 19 <= s.citation.line_start <= s.citation.line_end <= 21
        assert_exact(corpus_index, s)
        # the quote is the sentence of the cited lines that holds the claim, not all of them
        assert len(s.quote or "") < len(lines_of(corpus_index, F003, 19, 21))
    assert report.sentences[1].citation.line_start == 21  # type: ignore[union-attr]


def test_missing_file_and_line_past_end_are_flagged(corpus_index: Settings) -> None:
    n_lines = len(source_text(corpus_index, F001).splitlines())
    report = check_draft(
        "Elon Musk praised the Qwen models for their intelligence density [009_nope.txt:3].\n\n"
        "Lin joined Alibaba in July 2019 [001:900].\n\n"
        "Lin joined Alibaba in July 2019 [001:0].\n\n"
        "Lin joined Alibaba in July 2019 [001:9-4].\n\n"
        "Lin joined Alibaba in July 2019 [00:4].\n",
        corpus_index,
    )
    verdicts = [s.verdict for s in report.sentences]
    assert verdicts == ["bad_citation"] * 5
    reasons = [s.reason for s in report.sentences]
    assert "no such file: 009_nope.txt" in reasons[0]
    assert f"line 900 is past the end ({F001} has {n_lines} lines)" in reasons[1]
    assert "numbered from 1" in reasons[2]
    assert "runs backwards" in reasons[3]
    assert "ambiguous file name" in reasons[4]
    assert report.flagged == 5 and report.supported == 0
    # where the corpus does support the sentence, the report says where
    alt = report.sentences[1].alternative
    assert alt is not None and alt.file == F001


def test_one_bad_citation_among_good_ones_is_flagged(corpus_index: Settings) -> None:
    s = only(check_draft("Lin joined Alibaba in July 2019 [001:4; 001:999].", corpus_index))
    assert s.verdict == "bad_citation"
    assert "past the end" in s.reason and "supported" in s.reason
    assert s.citation is not None and s.citation.line_start == 4


def test_citation_after_the_full_stop_belongs_to_the_sentence_before(
    corpus_index: Settings,
) -> None:
    report = check_draft(
        "Binyuan Hui and Kaixin Li have also departed. [003:23] Lin was born in 1993.[003:25]\n",
        corpus_index,
    )
    assert [(s.text, s.citation_written, s.verdict) for s in report.sentences] == [
        ("Binyuan Hui and Kaixin Li have also departed.", "[003:23]", "supported"),
        ("Lin was born in 1993.", "[003:25]", "supported"),
    ]


# --- uncited sentences ------------------------------------------------------------------------


def test_uncited_true_sentence_gets_a_proposed_source(corpus_index: Settings) -> None:
    s = only(check_draft("Qwen had 203 million monthly active users.", corpus_index))
    assert s.verdict == "supported"
    assert s.citation_written is None and s.proposed
    assert s.citation is not None and s.citation.file == F003
    assert "203 million monthly active users" in (s.quote or "")
    assert_exact(corpus_index, s)


def test_uncited_invented_sentence_is_not_found(corpus_index: Settings) -> None:
    report = check_draft(
        "Alibaba unveiled a quantum computer built from bamboo in Nairobi on Friday.", corpus_index
    )
    s = only(report)
    assert s.verdict == "not_found"
    assert s.citation is None and s.source is None and not s.proposed
    assert report.flagged == 1


def test_without_an_index_cited_sentences_are_checked_and_uncited_ones_say_so(
    settings: Settings,
) -> None:
    report = check_draft(
        "Lin was born in 1993 [003:25].\nQwen had 203 million monthly active users.\n", settings
    )
    assert [s.verdict for s in report.sentences] == ["supported", "uncited"]
    assert "rag index" in report.sentences[1].reason
    assert any("rag index" in n for n in report.notices)


def test_citations_are_read_from_the_indexed_folder_when_the_setting_names_none(
    corpus_index: Settings, tmp_path: Path, tmp_corpus: Path
) -> None:
    elsewhere = corpus_index.model_copy(update={"corpus_dir": tmp_path / "nowhere"})
    report = check_draft("Lin was born in 1993 [003:25].", elsewhere)
    assert only(report).verdict == "supported" and report.notices == []
    other = corpus_index.model_copy(update={"corpus_dir": tmp_corpus})
    report = check_draft("Lin was born in 1993 [003:25].", other)
    assert only(report).verdict == "supported"
    assert any("the index was built from" in n for n in report.notices)


# --- parsing the draft ------------------------------------------------------------------------


def test_markdown_structure_headings_questions_and_code_are_skipped(
    corpus_index: Settings,
) -> None:
    draft = (
        "---\ntitle: Qwen\n---\n"
        "# Qwen loses its lead\n\n"
        "Why did Lin leave?\n\n"
        "```\nLin was born in 1993 [003:99999].\n```\n\n"
        "| a | b |\n|---|---|\n\n"
        "- **Lin** was born in *1993* [003:25].\n"
        "> Binyuan Hui and Kaixin Li have also departed [003:23].\n"
        "Yes.\n"
    )
    report = check_draft(draft, corpus_index)
    assert [(s.line, s.text) for s in report.sentences] == [
        (15, "Lin was born in 1993."),
        (16, "Binyuan Hui and Kaixin Li have also departed."),
    ]
    assert all(s.verdict == "supported" for s in report.sentences)
    # offsets point back into the draft
    for s in report.sentences:
        assert "[003:" in draft[s.char_start : s.char_end + 10]


def test_non_citation_brackets_are_left_alone() -> None:
    parsed = parse_draft("The team [sic] left in March [see notes]. Lin left [1].\n")
    first, second = parsed.sentences
    assert first.marks == [] and "[sic]" in first.text
    assert second.marks[0].error and "names no file" in second.marks[0].error


def test_a_name_that_starts_with_a_dot_keeps_its_space() -> None:
    """The space before a citation's removed bracket goes ("moved [003:4]." -> "moved."); the
    one before ".xz" or ".7z" stays."""
    parsed = parse_draft("The tool reads .xz files but not the .7z format [003:4].\n")
    assert parsed.sentences[0].text == "The tool reads .xz files but not the .7z format."


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("[003:]", "names no line"),
        ("[003:p1:]", "names no line"),
        ("[003:abc]", "abc is not a line number"),
        ("[:25]", "names no file"),
        ("[003:25; 001:]", "[001:] names no line"),
        ("[003:25, ,]", "an empty part"),
        ("[003:25", "not closed"),
    ],
)
def test_malformed_citations_are_flagged_never_read_as_the_sentence(written: str, why: str) -> None:
    parsed = parse_draft(f"Lin was born in 1993 {written}. Binyuan Hui left [003:23].\n")
    first, second = parsed.sentences
    assert first.text == "Lin was born in 1993."  # nothing of the bracket is claim text
    assert [m.raw for m in first.marks] == [written]
    error = first.marks[0].error
    assert error is not None and error.startswith(written + ":") and why in error
    assert second.text == "Binyuan Hui left." and second.marks[0].error is None
    # good citations of the bracket are kept
    kept = [r.label for r in first.marks[0].refs]
    assert kept == (["003:25"] if written.startswith("[003:25") else [])


def test_prose_brackets_with_a_colon_are_not_citations() -> None:
    parsed = parse_draft(
        "Lin left [Note: see below] in 2020. The team [TODO: check] met [see http://x.io/a:b].\n"
    )
    assert all(not s.marks for s in parsed.sentences)
    assert "[Note: see below]" in parsed.sentences[0].text


def test_malformed_citations_get_the_bad_citation_verdict(settings: Settings) -> None:
    report = check_draft(
        "Lin was born in 1993 [003:abc].\n\n"
        "Lin was born in 1993 [:25].\n\n"
        "Lin was born in 1993 [003:25; 001:].\n\n"
        "Lin was born in 1993 [003:25.\n",
        settings,
    )
    assert [s.verdict for s in report.sentences] == ["bad_citation"] * 4
    assert all(s.text == "Lin was born in 1993." for s in report.sentences)
    assert all("malformed" in s.reason or "not closed" in s.reason for s in report.sentences)
    assert not any("not in the cited text" in s.reason for s in report.sentences)
    # the good citation of a mixed bracket (and of an open one) is still read and shown
    for s in report.sentences[2:]:
        assert s.citation is not None and s.citation.line_start == 25, s
        assert "the other citation: supported" in s.reason


def test_an_undefined_footnote_is_a_bad_citation(settings: Settings) -> None:
    draft = (
        "Lin was born in 1993[^9].\n\n"
        "Binyuan Hui and Kaixin Li have also departed[^note].\n\n"
        "[^note]: Reported by several outlets.\n"
    )
    parsed = parse_draft(draft)
    assert parsed.sentences[0].marks[0].error is not None
    assert parsed.sentences[1].marks == []  # a writer's own footnote is no citation, no error
    report = check_draft(draft, settings)
    s = report.sentences[0]
    assert s.verdict == "bad_citation" and s.citation_written == "[^9]"
    assert "footnote 9 is not defined" in s.reason


def reported(text: str, verdicts: list[str]) -> DraftReport:
    """A report on the claims of ``text`` with these verdicts (a supported one cites 003:25)."""
    cited = Citation(
        n=1, file=F003, line_start=25, line_end=25, char_start=0, char_end=21, quote="Lin was born."
    )
    claims = parse_draft(text).claims
    return DraftReport(
        sentences=[
            DraftSentence(
                text=ps.text,
                line=ps.line,
                citation_written=ps.written,
                verdict=v,  # type: ignore[arg-type]
                reason="because",
                char_start=ps.start,
                char_end=ps.end,
                citation=cited if v == "supported" else None,
                quote=cited.quote if v == "supported" else None,
            )
            for ps, v in zip(claims, verdicts, strict=True)
        ]
    )


def test_a_footnoted_draft_reads_as_the_draft_it_came_from() -> None:
    draft = (
        "Lin was born in 1993 [003:25]. Lin joined Alibaba in 2031 [001:4].\n"
        "Qwen is sold to Google in 2025. Binyuan Hui has also departed [003:23].\n"
    )
    verdicts = ["supported", "contradicted", "not_found", "unsupported"]
    md = draft_markdown(draft, reported(draft, verdicts))
    assert "[^1]" in md and "≠[^check-1]" in md and "∅[^check-2]" in md and "⚠[^check-3]" in md
    parsed, again = parse_draft(draft), parse_draft(md)
    assert [s.text for s in again.sentences] == [s.text for s in parsed.sentences]
    assert [s.text for s in again.claims] == [s.text for s in parsed.claims]
    assert not any(m.error for s in again.sentences for m in s.marks)
    # exported again with the same verdicts: the same draft, marks and notes not piled up
    assert draft_markdown(md, reported(md, verdicts)) == md
    # a bare mark after a sentence, or an answer's bold mark before one, is no sentence text
    hand = parse_draft("Lin was born in 1993. ✓ Lin left. ⚠\n**⚠** Qwen was sold.\n")
    assert [s.text for s in hand.sentences] == [
        "Lin was born in 1993.",
        "Lin left.",
        "Qwen was sold.",
    ]


def test_progress_is_reported_per_sentence(corpus_index: Settings) -> None:
    calls: list[tuple[int, int]] = []
    check_draft(
        "Lin was born in 1993 [003:25]. Binyuan Hui also departed [003:23].",
        corpus_index,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 2), (2, 2)]


def test_a_long_draft_is_checked(corpus_index: Settings) -> None:
    """2,000 sentences go through (speed is measured in `rag bench`, not here)."""
    unit = (
        "Lin was born in 1993 [003:25]. Binyuan Hui and Kaixin Li have also departed [003:23]. "
        "Qwen had 600 million downloads [003:900]. Lin left Alibaba in a bamboo rocket [001:4].\n\n"
    )
    ticks: list[int] = []
    big = check_draft(unit * 500, corpus_index, progress=lambda done, total: ticks.append(total))
    assert big.checked == 2000 and big.counts == {
        "supported": 1000,
        "bad_citation": 500,
        "unsupported": 500,
    }
    assert big.sentences[-1].line == 999
    assert ticks and set(ticks) == {2000}


# --- reading ----------------------------------------------------------------------------------


def test_read_draft_errors(tmp_path: Path) -> None:
    with pytest.raises(DraftError, match="not found"):
        read_draft(tmp_path / "missing.md")
    (tmp_path / "empty.md").write_text("  \n\n", encoding="utf-8")
    with pytest.raises(DraftError, match="empty"):
        read_draft(tmp_path / "empty.md")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 culture.".encode("latin-1"))
    with pytest.raises(DraftError, match=r"draft is not valid UTF-8 \(byte 3\)"):
        read_draft(tmp_path / "latin1.txt")
    (tmp_path / "blob.bin").write_bytes(b"abc\x00def")
    with pytest.raises(DraftError, match="binary"):
        read_draft(tmp_path / "blob.bin")
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.7\n\xe2\xe3")
    with pytest.raises(DraftError, match="PDF"):
        read_draft(tmp_path / "paper.pdf")
    with pytest.raises(DraftError, match="folder"):
        read_draft(tmp_path)
    (tmp_path / "bom.md").write_bytes("\ufeffLin left.".encode())
    assert read_draft(tmp_path / "bom.md") == "Lin left."
    assert issubclass(DraftError, ValueError)


def test_empty_draft_is_an_error(corpus_index: Settings) -> None:
    with pytest.raises(DraftError, match="empty"):
        check_draft(" \n", corpus_index)


# --- output -----------------------------------------------------------------------------------

_FOOTNOTE = re.compile(r'^\[\^(\d+)\]: (\S+), lines? (\d+)(?:-(\d+))?: "(.*)"$', re.M)


def test_markdown_has_footnotes_with_exact_quotes(corpus_index: Settings) -> None:
    draft = (
        "# Notes\n\n"
        "Junyang Lin was appointed technical lead of Tongyi Qwen at just 29 [003:27].\n"
        "Qwen had 203 million monthly active users.\n"
        "Under his leadership the Qwen series passed 700 million downloads [003:31].\n"
    )
    report = check_draft(draft, corpus_index)
    md = draft_markdown(draft, report)
    notes = _FOOTNOTE.findall(md)
    assert [n[0] for n in notes] == ["1", "2"]
    for _n, file, a, b, quote in notes:
        cited = lines_of(corpus_index, file, int(a), int(b or a))
        assert quote and " ".join(quote.split()) in " ".join(cited.split())
    assert "at just 29[^1]." in md and "[003:27]" not in md
    assert "active users.[^2]" in md
    assert "700 million downloads [003:31]." in md  # a failing citation stays as written
    assert md.startswith("# Notes\n")

    # the footnoted draft checks again to the same verdicts, footnotes read as citations
    again = check_draft(md, corpus_index)
    assert [s.verdict for s in again.sentences] == [s.verdict for s in report.sentences]
    assert again.sentences[1].citation_written == "[^2]"
    assert draft_markdown(md, again).count("[^") == md.count("[^")


def test_terminal_table_lists_every_sentence(corpus_index: Settings) -> None:
    report = check_draft(
        "Lin was born in 1993 [003:25].\nLin joined Alibaba in July 2019 [001:900].\n",
        corpus_index,
    )
    table = render_draft_table(report, width=100)
    assert "✓" in table and "✗" in table and "past the end" in table
    assert table.splitlines()[-1] == report.summary()
    assert "2 sentences checked" in report.summary() and "1 bad citation" in report.summary()


# --- CLI --------------------------------------------------------------------------------------


def cli(settings: Settings, *args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(
        main,
        [
            "check",
            *args,
            "--no-judge",
            "--corpus-dir",
            str(settings.corpus_dir),
            "--index-dir",
            str(settings.index_dir),
        ],
        input=input,
    )


def test_cli_json_output_parses(corpus_index: Settings, tmp_path: Path) -> None:
    draft = tmp_path / "draft.md"
    draft.write_text(
        "Lin was born in 1993 [003:25].\nQwen had 203 million monthly active users.\n",
        encoding="utf-8",
    )
    result = cli(corpus_index, str(draft), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    report = DraftReport.model_validate(data)
    assert report.checked == 2 and report.supported == 2 and report.proposed == 1
    assert data["sentences"][1]["proposed"] is True
    assert data["checker"] == "rules"


def test_cli_table_markdown_and_fail_on_flagged(corpus_index: Settings, tmp_path: Path) -> None:
    draft = tmp_path / "draft.md"
    draft.write_text(
        "Lin was born in 1993 [003:25].\nLin joined Alibaba in July 2019 [001:900].\n",
        encoding="utf-8",
    )
    out = tmp_path / "footnoted.md"
    result = cli(corpus_index, str(draft), "--markdown", str(out))
    assert result.exit_code == 0
    assert "past the end" in result.stdout
    assert "1 flagged" in result.stdout
    assert _FOOTNOTE.search(out.read_text(encoding="utf-8"))
    flagged = cli(corpus_index, str(draft), "--fail-on-flagged", "--markdown", "-")
    assert flagged.exit_code == 2
    assert flagged.stdout.startswith("Lin was born in 1993[^1].")
    same = cli(corpus_index, str(draft), "--markdown", str(draft))
    assert same.exit_code != 0 and "overwrite" in same.stderr


def test_cli_output_paths_are_checked_before_the_check(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.drafts

    def no_check(*args: object, **kwargs: object) -> None:
        raise AssertionError("the draft was checked before the output path")

    monkeypatch.setattr(rag.drafts, "check_draft", no_check)
    draft = tmp_path / "draft.md"
    draft.write_text("Lin was born in 1993 [003:25].\n", encoding="utf-8")
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("x", encoding="utf-8")
    for out, message in (
        (tmp_path / "no-such-dir" / "out.md", "no such folder"),
        (tmp_path, "is a folder"),
        (a_file / "out.md", "is not a folder"),
    ):
        result = cli(settings, str(draft), "--markdown", str(out))
        assert result.exit_code == 1, result.output
        err = result.stderr.strip()
        assert err.startswith(f"error: --markdown {out}: ") and message in err
        assert len(err.splitlines()) == 1 and "Errno" not in err and result.stdout == ""


def test_cli_reads_stdin(corpus_index: Settings) -> None:
    result = cli(corpus_index, "-", "--json", input="Lin was born in 1993 [003:25].\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["sentences"][0]["verdict"] == "supported"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the draft is empty"),
        (b"\n  \n", "the draft is empty"),
        (b"Caf\xe9.", "not valid UTF-8"),
    ],
)
def test_cli_bad_drafts_give_one_line_errors(
    corpus_index: Settings, tmp_path: Path, content: bytes, message: str
) -> None:
    draft = tmp_path / "draft.md"
    draft.write_bytes(content)
    for args, stdin in (([str(draft)], None), (["-"], content)):
        result = cli(corpus_index, *args, input=stdin)
        assert result.exit_code != 0
        err = result.stderr.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
        assert result.stdout == ""


def test_cli_missing_draft_file(corpus_index: Settings, tmp_path: Path) -> None:
    result = cli(corpus_index, str(tmp_path / "nope.md"))
    assert result.exit_code != 0
    assert result.stderr.strip() == f"error: draft not found: {tmp_path / 'nope.md'}"


class BrokenJudge:
    """A judge whose model cannot run (as when the weights are missing)."""

    calls = 0

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        from rag.llm import LLMError

        self.calls += 1
        raise LLMError("the embedded model failed: out of memory")


def test_a_failing_judge_falls_back_to_rules_with_a_notice(corpus_index: Settings) -> None:
    judge = BrokenJudge()
    report = check_draft(
        "Lin was born in 1993 [003:25]. Binyuan Hui and Kaixin Li have also departed [003:23].",
        corpus_index,
        judge=judge,
    )
    assert judge.calls == 1
    assert [s.verdict for s in report.sentences] == ["supported", "supported"]
    assert report.checker == "rules"
    assert any("out of memory" in n and "rules only" in n for n in report.notices)


def test_draft_judge_choice_and_fallback(
    corpus_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.llm import choose, choose_judge

    rules_only = corpus_index.model_copy(update={"checker": "rules"})
    assert choose_judge(rules_only) == (None, [])
    assert choose_judge(corpus_index, use=False) == (None, [])

    def no_model(settings: Settings, backend: str) -> object:
        raise choose.LLMError("no embedded model weights")

    monkeypatch.setattr(choose, "get_llm", no_model)
    judge, notices = choose_judge(corpus_index)
    assert judge is None and notices == ["no embedded model weights; checking with rules only"]


def test_windows_line_endings(corpus_index: Settings) -> None:
    report = check_draft(
        "# Title\r\n\r\nLin was born in 1993 [003:25].\r\nQwen had 203 million users.\r\n",
        corpus_index,
    )
    assert [(s.line, s.verdict) for s in report.sentences] == [(3, "supported"), (4, "supported")]


# --- with the real judge ----------------------------------------------------------------------


@pytest.mark.slow
def test_judge_catches_a_changed_verb_that_the_rules_pass(
    corpus_index: Settings, embedded_llm: EmbeddedLLM
) -> None:
    claim = "Elon Musk criticized the post on an overseas social media platform [003:19]."
    rules = only(check_draft(claim, corpus_index))
    assert rules.verdict == "supported"  # same names and words: the rules cannot tell
    judged = check_draft(claim, corpus_index, judge=embedded_llm)
    s = only(judged)
    assert s.verdict == "unsupported" and "judge" in s.reason
    assert judged.checker == Checker(judge=embedded_llm).mode == "rules+llm"
    right = only(
        check_draft(
            "Elon Musk liked the post on an overseas social media platform [003:19].",
            corpus_index,
            judge=embedded_llm,
        )
    )
    assert right.verdict == "supported" and "judge" in right.reason
