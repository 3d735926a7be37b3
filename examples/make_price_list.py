"""Write ``examples/price_list.jsonl``: an example catalogue of custom resources.

A made-up but plausible price list of a team's fine-tuned and self-hosted models:
per-tenant fine-tunes of hosted models, open-weight models served on their own GPUs
(priced from GPU-hours spread over the tokens served), embedding and rerank models,
and a few multimodal ones with an ``image`` or ``audio`` unit beside ``text``. About
one resource in eight has a second version (a price change on a later date).

The output is the same on every run (a seeded ``random.Random``). Run it with
``python examples/make_price_list.py [-o FILE]``; import the file with
``payi-resources import examples/price_list.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["generate", "main"]

_M = 1_000_000

#: (base model, USD per million input tokens, per million output, context, max output)
_HOSTED_BASES = (
    ("gpt-4o-mini-2024-07-18", 0.30, 1.20, 128_000, 16_384),
    ("gpt-4o-2024-08-06", 3.75, 15.00, 128_000, 16_384),
    ("gpt-4.1-mini-2025-04-14", 0.80, 3.20, 1_047_576, 32_768),
    ("gpt-3.5-turbo-0125", 3.00, 6.00, 16_385, 4_096),
)
_OPEN_BASES = (
    ("llama-3.1-8b-instruct", 0.10, 0.18, 131_072, 8_192),
    ("llama-3.1-70b-instruct", 0.65, 0.90, 131_072, 8_192),
    ("llama-3.3-70b-instruct", 0.60, 0.85, 131_072, 8_192),
    ("mistral-7b-instruct-v0.3", 0.07, 0.12, 32_768, 8_192),
    ("mixtral-8x7b-instruct-v0.1", 0.35, 0.45, 32_768, 8_192),
    ("qwen2.5-14b-instruct", 0.20, 0.30, 32_768, 8_192),
    ("qwen2.5-coder-32b-instruct", 0.35, 0.50, 32_768, 8_192),
    ("gemma-2-27b-it", 0.25, 0.35, 8_192, 4_096),
    ("phi-3.5-mini-instruct", 0.04, 0.08, 131_072, 4_096),
)
_EMBEDDERS = (
    ("bge-large-en-v1.5", 0.010, 512),
    ("e5-mistral-7b-instruct", 0.030, 4_096),
    ("nomic-embed-text-v1.5", 0.008, 8_192),
    ("gte-qwen2-7b-instruct", 0.025, 32_768),
)
_RERANKERS = (("bge-reranker-v2-m3", 0.015, 8_192), ("jina-reranker-v2-base", 0.012, 1_024))
_MULTIMODAL = (
    ("llava-v1.6-mistral-7b", 0.15, 0.25, "image", 0.0012, 4_096),
    ("qwen2-vl-7b-instruct", 0.20, 0.30, "image", 0.0015, 32_768),
    ("whisper-large-v3", 0.0, 0.0, "audio", 0.0001, 448),
)
_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "soylent", "stark", "wayne")
_TASKS = ("support-triage", "invoice-extract", "sql-gen", "summarize", "classify", "redact-pii")
_SERVERS = ("vllm", "tgi", "sglang")
_QUANTS = ("fp16", "fp8", "awq-int4", "gptq-int4")
_QUANT_DISCOUNT = {"fp16": 1.0, "fp8": 0.7, "awq-int4": 0.45, "gptq-int4": 0.5}


def _per_token(per_million: float) -> float:
    return round(per_million / _M, 12)


def _start(rng: random.Random, year: int = 2025) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00Z"


def _text(per_m_in: float, per_m_out: float) -> dict[str, dict[str, float]]:
    return {"text": {"input_price": _per_token(per_m_in), "output_price": _per_token(per_m_out)}}


def _fine_tunes(rng: random.Random) -> Iterator[dict[str, Any]]:
    for base, per_in, per_out, context, max_out in _HOSTED_BASES:
        for tenant in _TENANTS:
            for task in rng.sample(_TASKS, 3):
                suffix = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=6))
                yield {
                    "category": "custom.finetuned.openai",
                    "resource": f"ft:{base}:{tenant}:{task}:{suffix}",
                    "units": _text(per_in * 1.5, per_out * 1.5),
                    "max_input_units": context,
                    "max_output_units": max_out,
                    "start_timestamp": _start(rng),
                }


def _self_hosted(rng: random.Random) -> Iterator[dict[str, Any]]:
    for base, per_in, per_out, context, max_out in _OPEN_BASES:
        for server in _SERVERS:
            for quant in _QUANTS:
                scale = _QUANT_DISCOUNT[quant] * rng.uniform(0.9, 1.1)
                yield {
                    "category": f"custom.selfhosted.{server}",
                    "resource": f"{base}-{quant}",
                    "units": _text(per_in * scale, per_out * scale),
                    "max_input_units": context,
                    "max_output_units": max_out,
                    "max_total_units": context,
                    "start_timestamp": _start(rng),
                }


def _embeddings(rng: random.Random) -> Iterator[dict[str, Any]]:
    for name, per_in, context in _EMBEDDERS + _RERANKERS:
        for server in ("tei", "vllm"):
            yield {
                "category": "custom.selfhosted.embeddings",
                "resource": f"{name}@{server}",
                "units": _text(per_in * rng.uniform(0.9, 1.1), 0.0),
                "max_input_units": context,
                "start_timestamp": _start(rng),
            }


def _multimodal(rng: random.Random) -> Iterator[dict[str, Any]]:
    for name, per_in, per_out, unit, unit_price, context in _MULTIMODAL:
        for region in ("us-east", "eu-west"):
            units = _text(per_in, per_out) if per_in or per_out else {}
            units[unit] = {"input_price": round(unit_price, 12), "output_price": 0.0}
            yield {
                "category": "custom.selfhosted.multimodal",
                "resource": f"{name}/{region}",
                "units": units,
                "max_input_units": context,
                "start_timestamp": _start(rng),
            }


def _price_cut(rng: random.Random, row: dict[str, Any]) -> dict[str, Any]:
    cut = rng.choice((0.5, 0.6, 0.75, 0.8))
    return {
        **row,
        "units": {
            name: {k: round(v * cut, 12) for k, v in prices.items()}
            for name, prices in row["units"].items()
        },
        "start_timestamp": _start(rng, 2026),
    }


def generate(seed: int = 2025) -> list[dict[str, Any]]:
    """The whole price list as import rows (``create``'s parameters), in file order."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for source in (_fine_tunes, _self_hosted, _embeddings, _multimodal):
        for row in source(rng):
            rows.append(row)
            if rng.random() < 0.125:
                rows.append(_price_cut(rng, row))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Write the price list; prints how many rows and resources it holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("price_list.jsonl"),
        help="where to write (default: price_list.jsonl next to this script)",
    )
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default: 2025)")
    args = parser.parse_args(argv)
    rows = generate(args.seed)
    with open(args.output, "w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row) + "\n")
    resources = {(r["category"], r["resource"]) for r in rows}
    categories = {r["category"] for r in rows}
    print(
        f"wrote {len(rows)} versions of {len(resources)} resources "
        f"in {len(categories)} categories to {args.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
