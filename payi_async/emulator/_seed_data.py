"""What a fresh emulator holds: the five system categories and a few real models each.

Prices are the providers' public per-token list prices in USD (per-million prices
divided by 1,000,000) as published in 2024-2025; they are illustrative, not a
price list to bill with. Every seeded resource uses the unit type ``"text"``.
``gpt-4o`` has two versions (the 2024-10-02 price cut) so version listings have
something to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "HOSTED_DETAILS",
    "SYSTEM_CATEGORIES",
    "SEED_RESOURCES",
    "SeedResource",
    "SEED_TIMESTAMP",
]

#: ``(name, description)`` of the system categories, as the seed's table has them.
SYSTEM_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("system.openai", "OpenAI models"),
    ("system.anthropic", "Anthropic's Claude models"),
    ("system.azureopenai", "Azure-hosted OpenAI models"),
    ("system.aws.bedrock", "AWS Bedrock foundation models"),
    ("system.google.vertex", "Google Vertex AI models"),
)

#: ``creation_timestamp`` of every seeded row.
SEED_TIMESTAMP = "2025-01-01T00:00:00.000000Z"

_M = 1_000_000


@dataclass(frozen=True)
class SeedResource:
    """One seeded resource version (``input``/``output`` are USD per token)."""

    category: str
    resource: str
    input: float
    output: float
    start: str
    max_input_units: int | None = None
    max_output_units: int | None = None
    resource_scope: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)


def _r(
    category: str,
    resource: str,
    per_m_in: float,
    per_m_out: float,
    start: str,
    max_in: int | None,
    max_out: int | None,
    scope: str | None = None,
    aliases: tuple[str, ...] = (),
) -> SeedResource:
    return SeedResource(
        category=category,
        resource=resource,
        input=round(per_m_in / _M, 12),
        output=round(per_m_out / _M, 12),
        start=f"{start}T00:00:00.000000Z",
        max_input_units=max_in,
        max_output_units=max_out,
        resource_scope=scope,
        aliases=aliases,
    )


_OAI = "system.openai"
_ANT = "system.anthropic"
_AZ = "system.azureopenai"
_BR = "system.aws.bedrock"
_VX = "system.google.vertex"

SEED_RESOURCES: tuple[SeedResource, ...] = (
    # OpenAI, platform.openai.com/pricing
    _r(_OAI, "gpt-4o", 5.00, 15.00, "2024-05-13", 128_000, 4_096),
    _r(_OAI, "gpt-4o", 2.50, 10.00, "2024-10-02", 128_000, 16_384),
    _r(_OAI, "gpt-4o-2024-08-06", 2.50, 10.00, "2024-08-06", 128_000, 16_384),
    _r(_OAI, "gpt-4o-mini", 0.15, 0.60, "2024-07-18", 128_000, 16_384),
    _r(_OAI, "text-embedding-3-small", 0.02, 0.0, "2024-01-25", 8_191, None),
    # Anthropic, anthropic.com/pricing
    _r(_ANT, "claude-3-5-sonnet-20240620", 3.00, 15.00, "2024-06-20", 200_000, 8_192),
    _r(
        _ANT,
        "claude-3-5-sonnet-20241022",
        3.00,
        15.00,
        "2024-10-22",
        200_000,
        8_192,
        aliases=("claude-3-5-sonnet-latest",),
    ),
    _r(
        _ANT,
        "claude-3-5-haiku-20241022",
        0.80,
        4.00,
        "2024-11-04",
        200_000,
        8_192,
        aliases=("claude-3-5-haiku-latest",),
    ),
    # Azure OpenAI: global, data zone and regional deployments are priced apart
    _r(_AZ, "gpt-4o-2024-08-06", 2.50, 10.00, "2024-08-06", 128_000, 16_384, "global"),
    _r(_AZ, "gpt-4o-2024-08-06-datazone", 2.75, 11.00, "2024-08-06", 128_000, 16_384, "datazone"),
    _r(_AZ, "gpt-4o-2024-08-06-regional", 2.75, 11.00, "2024-08-06", 128_000, 16_384, "region"),
    _r(_AZ, "gpt-4o-mini-2024-07-18", 0.15, 0.60, "2024-07-18", 128_000, 16_384, "global"),
    # AWS Bedrock on-demand, us-east-1
    _r(_BR, "anthropic.claude-3-5-sonnet-20240620-v1:0", 3.00, 15.00, "2024-06-20", 200_000, 4_096),
    _r(_BR, "anthropic.claude-3-haiku-20240307-v1:0", 0.25, 1.25, "2024-03-07", 200_000, 4_096),
    _r(_BR, "amazon.titan-text-express-v1", 0.20, 0.60, "2023-09-28", 8_192, 8_192),
    # Google Vertex AI, prompts up to 128K tokens
    _r(_VX, "gemini-1.5-pro-002", 1.25, 5.00, "2024-09-24", 2_097_152, 8_192),
    _r(_VX, "gemini-1.5-flash-002", 0.075, 0.30, "2024-09-24", 1_048_576, 8_192),
    _r(_VX, "gemini-2.0-flash-001", 0.15, 0.60, "2025-02-05", 1_048_576, 8_192),
)

# What the hosted shapes add to the system resources above, by (category, resource).
# Every seeded price is per token (so ``character_billing`` is false for all of them),
# on demand (no PTUs, model units or GSUs). The Azure deployments map to the OpenAI
# model they serve, at the scope their price is for; Gemini 1.5 prices double for
# prompts over 128K tokens.
_AZURE_MAPS = {
    "gpt-4o-2024-08-06": ("gpt-4o-2024-08-06", "global"),
    "gpt-4o-2024-08-06-datazone": ("gpt-4o-2024-08-06", "datazone"),
    "gpt-4o-2024-08-06-regional": ("gpt-4o-2024-08-06", "region"),
    "gpt-4o-mini-2024-07-18": ("gpt-4o-mini", "global"),
}


def _details(seed: SeedResource) -> dict[str, object]:
    details: dict[str, object] = {"character_billing": False}
    if seed.category == _AZ:
        resource, scope = _AZURE_MAPS[seed.resource]
        details["mapped_resource"] = {
            "host_name": None,
            "mapping_name": None,
            "resource": resource,
            "category": _OAI,
            "scope": scope,
            "sub_scope": None,
        }
    if seed.category == _VX and seed.resource.startswith("gemini-1.5-"):
        details["large_context_threshold"] = 128_000
    return details


#: Hosted-only fields of each seeded resource that are not ``null``.
HOSTED_DETAILS: dict[tuple[str, str], dict[str, object]] = {
    (seed.category, seed.resource): _details(seed) for seed in SEED_RESOURCES
}
