"""FLOPs and bytes the neural benchmarks' computations must perform, for their roofline lines
(:mod:`benchmarks.roofline`). Formulas and conventions: docs/lm_speed.md ("Roofline counts").

FLOPs are *model* FLOPs (Kaplan et al. 2020, arXiv:2001.08361, §2.1; PaLM, Chowdhery et al. 2022,
arXiv:2204.02311, App. B): a multiply-add is 2 FLOPs; a token's forward pass through a stack costs 2 FLOPs per
matmul parameter it meets plus 4·W per attended position per layer (scores and values); training is 3× forward.
Causal self-attention in a full-sequence pass is counted over the whole window (the convention), KV-cache decoding
over the positions actually filled. Elementwise work (norms, softmax, GELU, the optimizer) is not counted.

Bytes are a lower bound on memory traffic: what must cross from memory at least once if everything else stayed in
cache: the float32 parameters per pass (training: read forward, read backward, write gradients, and AdamW's
read of parameters, gradients, two moments and write of parameters and moments: 10 parameter-sized transfers per
step), each decoding step's read of the KV cache it attends over, and the inputs and outputs.
"""

import numpy as np

from benchmarks.timing import best_of

F32 = 4
TRAIN_PARAM_TRANSFERS = 10  # see the module docstring


def stack_matmul_params(width: int, depth: int, mlp_width: int, cross: bool = False) -> int:
    """Matmul parameters of ``depth`` pre-norm blocks: q, k, v, o (W² each), MLP (2·W·mlp), cross q, k, v, o."""
    per_block = 4 * width * width + 2 * width * mlp_width + (4 * width * width if cross else 0)
    return depth * per_block


def lm_matmul_params(cfg) -> int:
    """A decoder-only LM's matmul parameters per token: its blocks plus the tied head (V·W)."""
    return stack_matmul_params(cfg.width, cfg.depth, cfg.mlp_width) + cfg.vocab_size * cfg.width


def lm_train_flops(cfg, tokens: int) -> float:
    """Training FLOPs: 6·N + 12·depth·L·W per token (PaLM App. B), N = matmul parameters, L = context."""
    return tokens * (6.0 * lm_matmul_params(cfg) + 12.0 * cfg.depth * cfg.context * cfg.width)


def lm_train_bytes(n_params: int, steps: int, tokens: int) -> float:
    """Parameter and AdamW traffic per step, plus the int32 input tokens."""
    return steps * TRAIN_PARAM_TRANSFERS * F32 * n_params + F32 * tokens


def lm_forward_flops(cfg, tokens: int) -> float:
    """A full-window forward pass: 2·N + 4·depth·L·W per token."""
    return tokens * (2.0 * lm_matmul_params(cfg) + 4.0 * cfg.depth * cfg.context * cfg.width)


def lm_sample_flops(cfg, batch: int, length: int) -> float:
    """KV-cache sampling of ``length`` tokens from BOS: step i (0-based) attends over i + 1 positions, so per
    token 2·N + 4·depth·W·(length + 1)/2 on average."""
    return batch * length * (2.0 * lm_matmul_params(cfg) + 4.0 * cfg.depth * cfg.width * (length + 1) / 2)


def lm_sample_bytes(cfg, n_params: int, batch: int, length: int) -> float:
    """Each step reads the parameters once (shared by the batch) and the keys and values it attends over
    (2·depth·W floats per filled position per sequence), and writes this step's keys and values."""
    cache_reads = 2 * cfg.depth * cfg.width * F32 * batch * length * (length + 1) / 2
    cache_writes = 2 * cfg.depth * cfg.width * F32 * batch * length
    return length * F32 * n_params + cache_reads + cache_writes + F32 * batch * length


def seq2seq_forward_flops(cfg) -> float:
    """One example's teacher-forced forward pass through an encoder–decoder (:class:`Seq2SeqConfig`): encoder
    blocks on S source tokens (bidirectional attention over S), decoder blocks with cross-attention on T target
    tokens (self-attention over T, cross over S; cross k, v projections act on the S encoder outputs), tied head."""
    w, s, t = cfg.width, cfg.src_len, cfg.tgt_len
    mlp = int(round(cfg.mlp_ratio * w))
    enc = s * (2.0 * stack_matmul_params(w, cfg.enc_depth, mlp) + 4.0 * cfg.enc_depth * s * w)
    dec_tok = stack_matmul_params(w, cfg.dec_depth, mlp) + 2 * w * w * cfg.dec_depth + cfg.vocab_size * w
    cross_kv = 2 * w * w * cfg.dec_depth  # per source token
    dec = t * (2.0 * dec_tok + 4.0 * cfg.dec_depth * (t + s) * w) + s * 2.0 * cross_kv
    return enc + dec


def seq2seq_greedy_flops(cfg) -> float:
    """Greedy decoding of one example with a KV cache: the encoder once, then T decoder steps, step i attending
    over i + 1 target positions and the S source positions (cross k, v computed once)."""
    w, s, t = cfg.width, cfg.src_len, cfg.tgt_len
    mlp = int(round(cfg.mlp_ratio * w))
    enc = s * (2.0 * stack_matmul_params(w, cfg.enc_depth, mlp) + 4.0 * cfg.enc_depth * s * w)
    dec_tok = stack_matmul_params(w, cfg.dec_depth, mlp) + 2 * w * w * cfg.dec_depth + cfg.vocab_size * w
    steps = sum(2.0 * dec_tok + 4.0 * cfg.dec_depth * (i + 1 + s) * w for i in range(t))
    return enc + steps + s * 2.0 * 2 * w * w * cfg.dec_depth


def seq2seq_greedy_bytes(cfg, n_params: int, batch: int) -> float:
    """Parameters once per decoding step (shared by the batch), the cross- and self-attention keys and values
    each step attends over, the int32 source and output tokens."""
    w, s, t = cfg.width, cfg.src_len, cfg.tgt_len
    per_example = sum(2 * cfg.dec_depth * (i + 1 + s) * w * F32 for i in range(t)) + F32 * (s + t)
    return (t + 1) * F32 * n_params + batch * per_example


def sgemm_text(repeats: int = 5, n: int = 1024) -> str:
    """NumPy's float32 matrix-product rate now: these models compute in float32, so they can pass the float64
    dgemm ceiling that the roofline percentages refer to; this line gives the float32 one beside it."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    gflops = 2 * n**3 / best_of(lambda: a @ a, repeats) / 1e9
    return f"float32 ceiling (same run): NumPy sgemm {gflops:.1f} GFLOP/s (these models compute in float32)"
