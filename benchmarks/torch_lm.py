"""A PyTorch decoder-only byte LM of the same architecture as collapse.lm (benchmark reference only; torch is not
a project dependency): pre-norm RMSNorm blocks, rotary self-attention (half-split), GELU MLP without biases,
tied output head, vocabulary 257 (bytes + BOS). ``torch_sample`` decodes with a KV cache."""

import torch
import torch.nn.functional as F
from torch import nn


def _rope(x, start=0, base=10_000.0):
    """x: [B, H, T, D] rotated by positions start..start+T-1."""
    d, t = x.shape[-1], x.shape[-2]
    freq = base ** (-torch.arange(0, d // 2, dtype=torch.float32, device=x.device) * 2.0 / d)
    angle = torch.arange(start, start + t, dtype=torch.float32, device=x.device)[:, None] * freq
    sin, cos = angle.sin().to(x.dtype), angle.cos().to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(width, width, bias=False) for _ in range(4))

    def _split(self, y):
        b, t, w = y.shape
        return y.view(b, t, self.heads, w // self.heads).transpose(1, 2)

    def forward(self, x, cache=None):
        start = 0 if cache is None or cache[0] is None else cache[0].shape[2]
        q, k, v = (_rope(self._split(self.q(x)), start), _rope(self._split(self.k(x)), start),
                   self._split(self.v(x)))
        if cache is not None:
            if cache[0] is not None:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[0], cache[1] = k, v
        causal = q.shape[2] > 1
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.o(out.transpose(1, 2).reshape(x.shape))


class Block(nn.Module):
    def __init__(self, width, heads, mlp_ratio):
        super().__init__()
        self.norm1, self.attn = nn.RMSNorm(width, eps=1e-6), Attention(width, heads)
        hidden = int(round(mlp_ratio * width))
        self.norm2 = nn.RMSNorm(width, eps=1e-6)
        self.up, self.down = nn.Linear(width, hidden, bias=False), nn.Linear(hidden, width, bias=False)

    def forward(self, x, cache=None):
        x = x + self.attn(self.norm1(x), cache)
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class TorchLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed = nn.Embedding(cfg.vocab_size, cfg.width)
        nn.init.normal_(self.embed.weight, std=cfg.width ** -0.5)
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.RMSNorm(cfg.width, eps=1e-6)

    def forward(self, tokens, caches=None):
        x = self.embed(tokens)
        for i, blk in enumerate(self.blocks):
            x = blk(x, None if caches is None else caches[i])
        return self.norm(x) @ self.embed.weight.T


def torch_sample(model, batch, length, device):
    """``batch`` sequences of ``length`` tokens sampled at temperature 1 from BOS, with a KV cache."""
    caches = [[None, None] for _ in model.blocks]
    tok = torch.full((batch, 1), 256, dtype=torch.long, device=device)
    out = []
    for _ in range(length):
        logits = model(tok, caches)[:, -1].float()
        tok = torch.multinomial(torch.softmax(logits, -1), 1)
        out.append(tok)
    return torch.cat(out, dim=1)
