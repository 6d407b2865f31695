"""Writing the catalogue back to reviewable YAML files (the same format the import reads)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot.catalogue.model import Area, Category, Resource

HEADER = "# Exported by `bot catalogue export`; edit and re-import with `bot catalogue import`.\n"


class _Dumper(yaml.SafeDumper):
    """Block style, readable unicode, and no anchors (the import refuses aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _short_lists_inline(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = len(data) <= 8 and all(isinstance(item, str) and len(item) < 24 for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _short_lists_inline)


def _dump(data: Any) -> str:
    return HEADER + yaml.dump(
        data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100, indent=2
    )


def resource_record(resource: Resource, *, archived: bool = False) -> dict[str, Any]:
    """A resource as a YAML record, fields in the documented order, empty ones left out."""
    record: dict[str, Any] = {
        "slug": resource.slug,
        "example": resource.example,
        "categories": list(resource.categories),
        "name": dict(resource.name),
        "summary": dict(resource.summary),
        "eligibility": dict(resource.eligibility),
        "keywords": {lang: list(words) for lang, words in resource.keywords.items()},
        "phone": resource.phone,
        "sms": resource.sms,
        "email": resource.email,
        "website": resource.website,
        "address": resource.address,
        "postcode": resource.postcode,
        "areas": list(resource.areas),
        "languages": list(resource.languages),
        "interpreter": resource.interpreter,
        "cost": resource.cost.value,
        "referral": resource.referral.value,
        "min_age": resource.min_age,
        "max_age": resource.max_age,
        "access": [a.value for a in resource.access],
        "hours": resource.hours,
        "peer_led": resource.peer_led,
        "last_verified": resource.last_verified,
        "archived": archived,
    }
    optional_falsy = ("example", "eligibility", "keywords", "access", "archived")
    return {
        key: value
        for key, value in record.items()
        if value is not None and not (key in optional_falsy and not value)
    }


def write_export(
    directory: Path,
    *,
    categories: Iterable[Category],
    areas: Iterable[Area],
    resources: Iterable[tuple[Resource, bool]],
) -> list[Path]:
    """Write categories.yaml, areas.yaml and catalogue.yaml into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {
        "categories.yaml": {
            "categories": {
                c.slug: {"name": dict(c.names), "terms": {k: list(v) for k, v in c.terms.items()}}
                for c in categories
            }
        },
        "areas.yaml": {
            "areas": {
                a.slug: {"name": dict(a.names), **({"part_of": a.part_of} if a.part_of else {})}
                for a in areas
            }
        },
        "catalogue.yaml": {
            "resources": [resource_record(r, archived=archived) for r, archived in resources]
        },
    }
    written = []
    for name, data in files.items():
        (collection,) = data.values()
        if not collection:
            continue  # an empty list or mapping would not import back
        path = directory / name
        path.write_text(_dump(data), encoding="utf-8")
        written.append(path)
    return written
