"""The query-row attention computed beside SDPA equals eager attention's probabilities."""

from __future__ import annotations

import pytest
import torch

from contextsieve.scoring.capture import capturing, query_row_probs, register_capture_attention
from contextsieve.testing import tiny_draft


@pytest.mark.parametrize("rows", [1, 6, 40])
def test_capture_matches_eager_with_left_padding(rows: int) -> None:
    model = tiny_draft(300, layers=3, seed=1)
    ids = torch.randint(1, 300, (3, 40), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, :5] = 0
    mask[2, :17] = 0
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    model.set_attn_implementation("eager")
    with torch.no_grad():
        eager = model(input_ids=ids, attention_mask=mask, position_ids=positions, output_attentions=True)
    reference = torch.stack(eager.attentions)[:, :, :, -rows:, :].amax(dim=(0, 2))
    model.set_attn_implementation(register_capture_attention())
    with torch.no_grad(), capturing(rows) as capture:
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions)
    assert capture.probs is not None
    assert capture.probs.shape == (3, rows, 40)
    # Rows that are padding positions themselves are meaningless in both; compare the real ones.
    for b in range(3):
        first_real = int((mask[b] == 0).sum())
        keep = max(0, rows - (40 - first_real)) if rows > 40 - first_real else 0
        torch.testing.assert_close(capture.probs[b, keep:], reference[b, keep:], atol=1e-5, rtol=0)
        torch.testing.assert_close(out.logits[b, first_real:], eager.logits[b, first_real:], atol=1e-4, rtol=0)


def test_capture_without_mask_is_causal() -> None:
    model = tiny_draft(300, layers=2, seed=3)
    ids = torch.randint(1, 300, (1, 25), generator=torch.Generator().manual_seed(4))
    model.set_attn_implementation("eager")
    with torch.no_grad():
        eager = model(input_ids=ids, output_attentions=True)
    reference = torch.stack(eager.attentions)[:, :, :, -8:, :].amax(dim=(0, 2))
    model.set_attn_implementation(register_capture_attention())
    with torch.no_grad(), capturing(8) as capture:
        model(input_ids=ids)
    assert capture.probs is not None
    torch.testing.assert_close(capture.probs, reference, atol=1e-5, rtol=0)
    # Causality: the first of the 8 rows (position 17) puts no mass on later keys.
    assert float(capture.probs[0, 0, 18:].sum()) == 0.0


def test_query_row_probs_rows_sum_to_one() -> None:
    q = torch.randn(2, 3, 10, 8)
    k = torch.randn(2, 3, 10, 8)
    probs = query_row_probs(q, k, None, 8**-0.5, rows=4)
    per_head = torch.softmax(
        (q[:, :, -4:] @ k.transpose(-1, -2) * 8**-0.5).masked_fill(
            torch.arange(10)[None, :] > torch.arange(6, 10)[:, None], float("-inf")
        ),
        dim=-1,
    )
    torch.testing.assert_close(probs, per_head.amax(dim=1))
