"""cogs/common/forms.py: reading a submitted form, whatever layout Discord sends."""

from __future__ import annotations

from cogs.common.forms import modal_values


def test_modal_values_read_rows_and_labels() -> None:
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": "prompt", "value": "a cat"}]}]
    labels = [{"type": 18, "component": {"type": 4, "custom_id": "instruction", "value": ""}}]
    assert modal_values(rows + labels) == {"prompt": "a cat", "instruction": ""}
    assert modal_values(None) == {}
