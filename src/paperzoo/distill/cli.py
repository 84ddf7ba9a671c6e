"""`paperzoo distill predict RUN TEXT...`: label texts (classification run) or continue them (distill.lm run)
with a student a run saved under `RUN/students/<method>/` (a Hugging Face folder)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from paperzoo.core import UserError

app = typer.Typer(help="Knowledge-distillation tools (arXiv 2412.19449).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Knowledge-distillation tools (arXiv 2412.19449)."""


def student_folder(run: Path, method: str, allow_smoke: bool = False) -> Path:
    """`RUN/students/<method>`, checked: the run finished, saved that student, and is not a smoke run."""
    record_file = run / "metrics.json"
    if not record_file.is_file():
        raise UserError(f"{run}: no metrics.json; give the folder of a finished `paperzoo run distill` or "
                        "`paperzoo run distill.lm`")
    try:
        record = json.loads(record_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{record_file} is corrupt ({exc}); re-run the experiment") from None
    if not str(record.get("experiment", "")).startswith("distill"):
        raise UserError(f"{run} is a run of {record.get('experiment')!r}, not of distill or distill.lm")
    if record.get("preset") == "smoke" and not allow_smoke:
        raise UserError(f"{run} is a smoke run (tiny data, a few steps): its students predict nothing useful. "
                        "Use a quick or full run, or pass --allow-smoke")
    folder = run / "students" / method
    if not (folder / "distill.json").is_file():
        saved = sorted(p.name for p in (run / "students").glob("*") if (p / "distill.json").is_file())
        raise UserError(f"{run} saved no {method!r} student; saved: {', '.join(saved) or 'none'} "
                        "(choose which with --set train.save=[...] when running)")
    return folder


@app.command()
def predict(
    run: Path = typer.Argument(..., help="a finished distill or distill.lm run folder"),
    texts: list[str] = typer.Argument(..., help="texts to label (distill) or to continue (distill.lm)"),
    method: str = typer.Option("paper", help="which saved student (a method name)"),
    tokens: int = typer.Option(24, min=1, max=512, help="tokens to generate per text (distill.lm runs)"),
    allow_smoke: bool = typer.Option(False, "--allow-smoke", help="use a smoke run's student anyway"),
) -> None:
    """Label (classification) or greedily continue (language model) each TEXT with a run's student."""
    folder = student_folder(run, method, allow_smoke)
    for text, answer in zip(texts, predict_texts(folder, texts, tokens), strict=True):
        typer.echo(f"{text!r}\t{answer}")


def predict_texts(folder: Path, texts: list[str], tokens: int = 24) -> list[str]:
    """One answer per text: 'label (probability)' for a classifier, the continuation for an LM."""
    import torch

    from .lm import Codec, greedy
    from .models import load_pretrained_student

    if any(not t.strip() for t in texts):
        raise UserError("every TEXT must contain something other than whitespace")
    model, tok, meta = load_pretrained_student(folder)
    if meta["kind"] == "lm":
        codec = Codec(tok)
        return [codec.decode(greedy(model, torch.tensor([codec.encode(t)]), tokens)[0]) for t in texts]
    enc = tok(texts, truncation=True, max_length=int(meta.get("max_len", 128)), padding=True, return_tensors="pt")
    with torch.no_grad():
        proba = torch.softmax(model(enc["input_ids"], enc["attention_mask"]).float(), -1)
    labels = meta["labels"]
    return [f"{labels[int(p.argmax())]} ({float(p.max()):.3f})" for p in proba]
