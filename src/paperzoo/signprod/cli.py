"""`paperzoo signprod generate OUT` writes the synthetic sign language in the PT layout;
`paperzoo signprod dtw REF.skels HYP.skels` scores hypotheses with PT's DTW-MJE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from paperzoo.core import UserError

app = typer.Typer(help="Sign language production tools (arXiv 2412.16944).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Sign language production tools (arXiv 2412.16944)."""


@app.command()
def generate(
    out: Path = typer.Argument(..., help="folder to write (new or empty): {train,dev,test}.{skels,gloss,text,files}"),
    preset: str = typer.Option("quick", help="sizes of the experiment's preset: smoke | quick | full"),
    set_: list[str] = typer.Option([], "--set", help="override a data key: --set data.n_train=100"),
) -> None:
    """Write the synthetic sign language of a preset in the Progressive Transformers layout."""
    from paperzoo.core.config import parse_set_options
    from paperzoo.core.runner import check_out_dir, prepare

    from .data import SignLanguage
    from .formats import write_pt

    overrides = parse_set_options(set_)
    bad = [k for k in overrides if not k.startswith("data.")]
    if bad:
        raise UserError(f"generate takes data.* keys only, got {', '.join(bad)}")
    _, cfg, _, _ = prepare("signprod", preset=preset, overrides=overrides)
    check_out_dir(out)
    corpus = SignLanguage(cfg.data).corpus()
    write_pt(corpus, out, decimals=cfg.data.decimals)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in corpus.splits.items())
    typer.echo(f"wrote {out}: {len(corpus.glosses)} glosses; {sizes} sentences "
               f"(use it with: paperzoo run signprod --set data.path={out})")


@app.command()
def dtw(
    references: Path = typer.Argument(..., help=".skels file of the ground truth"),
    hypotheses: Path = typer.Argument(..., help=".skels file of the produced sequences, same order"),
    bos: bool = typer.Option(True, "--bos/--no-bos", help="whether each hypothesis starts with a BOS frame (PT's "
                                                          "output does); --no-bos prepends one"),
) -> None:
    """Mean DTW-MJE of hypotheses against references, exactly as Progressive Transformers computes it."""
    from .dtw import dtw_mje
    from .formats import read_skels

    refs, hyps = read_skels(references), read_skels(hypotheses)
    if len(refs) != len(hyps):
        raise UserError(f"{hypotheses} holds {len(hyps)} sequences but {references} holds {len(refs)}")
    if not bos:
        hyps = [np.concatenate([np.zeros((1, h.shape[1]), h.dtype), h]) for h in hyps]
    if any(len(h) < 2 for h in hyps):
        raise UserError(f"{hypotheses}: every hypothesis needs a frame after its BOS frame (pass --no-bos if the "
                        "file has no BOS frames)")
    scores = dtw_mje(refs, hyps)
    typer.echo(f"DTW-MJE {scores.mean():.4f} over {len(scores)} sequences (min {scores.min():.4f}, "
               f"max {scores.max():.4f})")
