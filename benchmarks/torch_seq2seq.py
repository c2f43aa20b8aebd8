"""A PyTorch encoder–decoder of the same architecture and size as collapse.nn.seq2seq (benchmark reference only;
torch is not a project dependency). Pre-norm RMSNorm blocks, rotary self-attention (half-split), GELU MLP without
biases, cross-attention in the decoder, tied output head."""

import torch
import torch.nn.functional as F
from torch import nn


def _rope(x, base=10_000.0):
    """x: [B, H, T, D] rotated by position (half-split convention, as collapse.nn.rope)."""
    d, t = x.shape[-1], x.shape[-2]
    freq = base ** (-torch.arange(0, d // 2, dtype=torch.float32) * 2.0 / d)
    angle = torch.arange(t, dtype=torch.float32)[:, None] * freq
    sin, cos = angle.sin(), angle.cos()
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, width, heads, cross=False):
        super().__init__()
        self.heads, self.cross = heads, cross
        self.q, self.k, self.v, self.o = (nn.Linear(width, width, bias=False) for _ in range(4))

    def _split(self, y):
        b, t, w = y.shape
        return y.view(b, t, self.heads, w // self.heads).transpose(1, 2)

    def forward(self, x, kv=None, causal=False):
        src = kv if self.cross else x
        q, k, v = self._split(self.q(x)), self._split(self.k(src)), self._split(self.v(src))
        if not self.cross:
            q, k = _rope(q), _rope(k)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.o(out.transpose(1, 2).reshape(x.shape))


class Block(nn.Module):
    def __init__(self, width, heads, mlp_ratio, causal, cross):
        super().__init__()
        self.causal = causal
        self.norm1, self.attn = nn.RMSNorm(width, eps=1e-6), Attention(width, heads)
        self.cross = None
        if cross:
            self.norm_c, self.cross = nn.RMSNorm(width, eps=1e-6), Attention(width, heads, cross=True)
        hidden = int(round(mlp_ratio * width))
        self.norm2 = nn.RMSNorm(width, eps=1e-6)
        self.up, self.down = nn.Linear(width, hidden, bias=False), nn.Linear(hidden, width, bias=False)

    def forward(self, x, enc=None):
        x = x + self.attn(self.norm1(x), causal=self.causal)
        if self.cross is not None:
            x = x + self.cross(self.norm_c(x), kv=enc)
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class TorchSeq2Seq(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg.width
        self.enc_embed, self.dec_embed = nn.Embedding(cfg.vocab_size, w), nn.Embedding(cfg.vocab_size, w)
        self.enc = nn.ModuleList(Block(w, cfg.heads, cfg.mlp_ratio, False, False) for _ in range(cfg.enc_depth))
        self.dec = nn.ModuleList(Block(w, cfg.heads, cfg.mlp_ratio, True, True) for _ in range(cfg.dec_depth))
        self.enc_norm, self.dec_norm = nn.RMSNorm(w, eps=1e-6), nn.RMSNorm(w, eps=1e-6)
        # The JAX encoder also holds an (unused) tied head and norm per stack; sizes match to within those.

    def encode(self, src):
        x = self.enc_embed(src)
        for blk in self.enc:
            x = blk(x)
        return self.enc_norm(x)

    def decode(self, tgt_in, memory):
        x = self.dec_embed(tgt_in)
        for blk in self.dec:
            x = blk(x, memory)
        return self.dec_norm(x) @ self.dec_embed.weight.T

    def forward(self, src, tgt_in):
        return self.decode(tgt_in, self.encode(src))

    def greedy(self, src, length):
        memory = self.encode(src)
        seq = torch.ones(src.shape[0], 1, dtype=torch.long)  # BOS = 1
        for _ in range(length):
            nxt = self.decode(seq, memory)[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, nxt], 1)
        return seq[:, 1:]
