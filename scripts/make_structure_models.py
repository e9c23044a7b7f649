"""Small transformer variants for the structure-recognition tests.

Writes passes/structure/test/models/<name>.onnx (random weights, a few KB each): forms the
fixture models do not cover, exported by torch's ONNX exporter at opsets 13-17 with symbolic
batch and sequence dims. CI never runs this (no python there); the outputs are committed.

    /usr/bin/python3 scripts/make_structure_models.py
"""

import os

import onnx
import torch
import torch.nn.functional as F
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'passes', 'structure', 'test', 'models')
VOCAB, WIDTH, HEADS = 64, 32, 4


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(d) + 0.5)

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class Attention(nn.Module):
    """Separate or fused (sliced) projections, optional GQA by repeat_interleave, and a mask kind."""

    def __init__(self, fused=False, bias=True, kv_heads=HEADS, mask='buffer'):
        super().__init__()
        self.fused, self.kv_heads, self.mask = fused, kv_heads, mask
        self.hd = WIDTH // HEADS
        kv = kv_heads * self.hd
        if fused:
            self.qkv = nn.Linear(WIDTH, WIDTH + 2 * kv, bias=bias)
        else:
            self.q = nn.Linear(WIDTH, WIDTH, bias=bias)
            self.k = nn.Linear(WIDTH, kv, bias=bias)
            self.v = nn.Linear(WIDTH, kv, bias=bias)
        self.o = nn.Linear(WIDTH, WIDTH, bias=bias)
        self.register_buffer('tri', torch.tril(torch.ones(64, 64, dtype=torch.bool)))

    def forward(self, x):
        b, t, _ = x.shape
        kv = self.kv_heads * self.hd
        if self.fused:
            h = self.qkv(x)
            q, k, v = h[..., :WIDTH], h[..., WIDTH:WIDTH + kv], h[..., WIDTH + kv:]
        else:
            q, k, v = self.q(x), self.k(x), self.v(x)
        q = q.view(b, t, HEADS, -1).transpose(1, 2)
        k = k.view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = v.view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        if self.kv_heads != HEADS:
            k = k.repeat_interleave(HEADS // self.kv_heads, dim=1)
            v = v.repeat_interleave(HEADS // self.kv_heads, dim=1)
        s = q @ k.transpose(-1, -2) / self.hd ** 0.5
        if self.mask == 'buffer':
            s = s.masked_fill(~self.tri[:t, :t], float('-inf'))
        elif self.mask == 'trilu':
            s = s.masked_fill(~torch.ones(t, t, dtype=torch.bool, device=x.device).tril(), float('-inf'))
        elif self.mask == 'range':
            pos = torch.arange(t, device=x.device)
            s = s.masked_fill(pos[None, :] > pos[:, None], float('-inf'))
        y = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, WIDTH)
        return self.o(y)


class Mlp(nn.Module):
    def __init__(self, act='relu', hidden=48, bias=True):
        super().__init__()
        self.act = act
        self.up = nn.Linear(WIDTH, hidden, bias=bias)
        self.gate = nn.Linear(WIDTH, hidden, bias=bias) if act in ('geglu', 'swiglu') else None
        self.down = nn.Linear(hidden, WIDTH, bias=bias)

    def forward(self, x):
        if self.act == 'relu':
            return self.down(F.relu(self.up(x)))
        if self.act == 'gelu_tanh':
            return self.down(F.gelu(self.up(x), approximate='tanh'))
        if self.act == 'geglu':
            return self.down(F.gelu(self.gate(x)) * self.up(x))
        return self.down(F.silu(self.gate(x)) * self.up(x))


class GatheredMoe(nn.Module):
    """Top-2 of 4 experts; each expert runs on the tokens routed to it (index_put accumulate)."""

    def __init__(self, experts=4, k=2):
        super().__init__()
        self.k = k
        self.router = nn.Linear(WIDTH, experts, bias=False)
        self.experts = nn.ModuleList(Mlp('swiglu', 24, bias=False) for _ in range(experts))

    def forward(self, x):
        b, t, d = x.shape
        flat = x.reshape(-1, d)
        w, sel = torch.topk(self.router(flat).softmax(-1), self.k, dim=-1)
        w = w / w.sum(-1, keepdim=True)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            token, slot = torch.nonzero(sel == e, as_tuple=True)
            y = expert(flat[token]) * w[token, slot].unsqueeze(-1)
            out = out.index_put((token,), y, accumulate=True)
        return out.reshape(b, t, d)


class Conv1D(nn.Module):
    """HF GPT-2's projection: addmm on tokens flattened to [N, in] (exported as Gemm + Reshapes)."""

    def __init__(self, nin, nout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nin, nout) * 0.05)
        self.bias = nn.Parameter(torch.randn(nout) * 0.05)

    def forward(self, x):
        shape = x.size()[:-1] + (self.weight.size(-1),)
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(shape)


class Conv1DAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn, self.c_proj = Conv1D(WIDTH, 3 * WIDTH), Conv1D(WIDTH, WIDTH)
        self.register_buffer('tri', torch.tril(torch.ones(1, 1, 64, 64, dtype=torch.bool)))

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.c_attn(x).split(WIDTH, dim=2)
        q, k, v = (y.view(b, t, HEADS, WIDTH // HEADS).permute(0, 2, 1, 3) for y in (q, k, v))
        s = torch.matmul(q, k.transpose(-1, -2)) / (WIDTH // HEADS) ** 0.5
        s = torch.where(self.tri[:, :, :t, :t], s, torch.tensor(torch.finfo(s.dtype).min))
        y = torch.matmul(s.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
        return self.c_proj(y.view(b, t, WIDTH))


class Conv1DMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc, self.c_proj = Conv1D(WIDTH, 4 * WIDTH), Conv1D(4 * WIDTH, WIDTH)

    def forward(self, x):
        h = self.c_fc(x)
        h = 0.5 * h * (1.0 + torch.tanh(0.7978845608028654 * (h + 0.044715 * torch.pow(h, 3.0))))
        return self.c_proj(h)


class SharedExpertMoe(nn.Module):
    """Dense top-2 of 4 (weights scattered into zeros, every expert on every token) plus a shared expert."""

    def __init__(self, experts=4, k=2):
        super().__init__()
        self.k = k
        self.router = nn.Linear(WIDTH, experts, bias=False)
        self.experts = nn.ModuleList(Mlp('swiglu', 24, bias=False) for _ in range(experts))
        self.shared = Mlp('swiglu', 24, bias=False)

    def forward(self, x):
        p = self.router(x).softmax(-1)
        w, sel = torch.topk(p, self.k, dim=-1)
        dense = torch.zeros_like(p).scatter(-1, sel, w)
        out = sum(dense[..., e:e + 1] * expert(x) for e, expert in enumerate(self.experts))
        return out + self.shared(x)


class PaddedCausalLm(nn.Module):
    """HF's older mask recipe: a Range-comparison causal mask plus the padding mask from an
    attention_mask input, added into one additive mask."""

    def __init__(self):
        super().__init__()
        self.lm = Lm([Block(Attention(bias=False, mask='none'), Mlp('swiglu', bias=False), norm='rms')], final_norm='rms')
        for blk in self.lm.blocks:
            blk.attn.forward = self._attend(blk.attn)

    def _attend(self, attn):
        def forward(x):
            b, t, _ = x.shape
            q, k, v = (p(x).view(b, t, HEADS, -1).transpose(1, 2) for p in (attn.q, attn.k, attn.v))
            s = q @ k.transpose(-1, -2) / attn.hd ** 0.5 + self.mask
            y = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, WIDTH)
            return attn.o(y)
        return forward

    def forward(self, ids, attention_mask):
        t = ids.shape[1]
        cond = torch.arange(t, device=ids.device)
        causal = torch.zeros(t, t).masked_fill(cond < (cond + 1).view(t, 1), 0.0).masked_fill(cond >= (cond + 1).view(t, 1), -1e9)
        pad = (1.0 - attention_mask[:, None, None, :].float()) * -1e9
        self.mask = causal[None, None] + pad
        return self.lm(ids)


class MaskedMoe(nn.Module):
    """Top-2 of 4, every expert on every token, its weight picked out by comparing indices
    (no ScatterElements): sum over k of w_k * (sel_k == e)."""

    def __init__(self, experts=4, k=2):
        super().__init__()
        self.k = k
        self.router = nn.Linear(WIDTH, experts, bias=False)
        self.experts = nn.ModuleList(Mlp('relu', 24, bias=False) for _ in range(experts))

    def forward(self, x):
        w, sel = torch.topk(self.router(x).softmax(-1), self.k, dim=-1)
        out = 0
        for e, expert in enumerate(self.experts):
            weight = (w * (sel == e).to(w.dtype)).sum(-1, keepdim=True)
            out = out + expert(x) * weight
        return out


class Block(nn.Module):
    def __init__(self, attn, ffn, norm='layer', post=False):
        super().__init__()
        make = (lambda: nn.LayerNorm(WIDTH)) if norm == 'layer' else (lambda: RMSNorm(WIDTH))
        self.attn, self.ffn, self.n1, self.n2, self.post = attn, ffn, make(), make(), post

    def forward(self, x):
        if self.post:
            x = self.n1(x + self.attn(x))
            return self.n2(x + self.ffn(x))
        x = x + self.attn(self.n1(x))
        return x + self.ffn(self.n2(x))


class Lm(nn.Module):
    def __init__(self, blocks, positions=False, final_norm='layer', head=True):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, WIDTH)
        self.pos = nn.Embedding(64, WIDTH) if positions else None
        self.blocks = nn.ModuleList(blocks)
        self.norm = {'layer': nn.LayerNorm(WIDTH), 'rms': RMSNorm(WIDTH), None: nn.Identity()}[final_norm]
        self.head = nn.Linear(WIDTH, VOCAB, bias=False) if head else None

    def forward(self, ids):
        x = self.emb(ids)
        if self.pos is not None:
            x = x + self.pos(torch.arange(ids.shape[1], device=ids.device))
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return self.head(x) if self.head is not None else x


def tied(lm):
    lm.head.weight = lm.emb.weight
    return lm


def variants():
    torch.manual_seed(0)
    return {
        # opset 13: LayerNorm and Softmax written out by the exporter; q/k/v separate with
        # biases, view(b, t, heads, -1), ReLU MLP, learned positions.
        'sepqkv_relu_op13': (Lm([Block(Attention(), Mlp('relu')) for _ in range(2)], positions=True), 13),
        # opset 15: post-norm encoder, fused qkv taken apart by Slice, tanh GELU, no head.
        'postnorm_sliceqkv_op15': (Lm([Block(Attention(fused=True, mask='none'), Mlp('gelu_tanh'), post=True) for _ in range(2)], final_norm=None, head=False), 15),
        # opset 14: HF GPT-2's Conv1D (addmm on flattened tokens: Gemm between Reshapes),
        # gelu_new written out, a Where mask with finfo.min, tied head.
        'conv1d_addmm_op14': (tied(Lm([Block(Conv1DAttention(), Conv1DMlp()) for _ in range(2)], positions=True)), 14),
        # opset 16: RMSNorm, GQA by repeat_interleave, GeGLU, a Trilu causal mask.
        'gqa_geglu_trilu_op16': (Lm([Block(Attention(bias=False, kv_heads=2, mask='trilu'), Mlp('geglu', bias=False), norm='rms') for _ in range(2)], final_norm='rms'), 16),
        # opset 17: a causal mask from comparing position ranges; a MoE in gathered form.
        'moe_gathered_op17': (Lm([Block(Attention(bias=False, mask='range'), GatheredMoe(), norm='rms') for _ in range(2)], final_norm='rms'), 17),
        # opset 14: HF's older additive mask, causal (Range comparison) plus padding from an input.
        'padded_causal_op14': (PaddedCausalLm(), 14),
        # opset 13: a dense MoE whose weights come from comparing the top-k indices.
        'moe_masked_op13': (Lm([Block(Attention(), MaskedMoe())], final_norm='layer'), 13),
        # opset 17: a dense MoE with a shared expert beside the routed ones.
        'moe_shared_op17': (Lm([Block(Attention(bias=False), SharedExpertMoe(), norm='rms')], final_norm='rms'), 17),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    ids = torch.randint(0, VOCAB, (2, 8))
    for name, (model, opset) in variants().items():
        model.eval()
        path = os.path.join(OUT, f'{name}.onnx')
        padded = isinstance(model, PaddedCausalLm)
        inputs = (ids, torch.ones_like(ids)) if padded else (ids,)
        names = ['input_ids', 'attention_mask'][:len(inputs)]
        torch.onnx.export(
            model, inputs, path, input_names=names, output_names=['out'],
            dynamic_axes={**{n: {0: 'batch', 1: 'sequence'} for n in names}, 'out': {0: 'batch', 1: 'sequence'}},
            opset_version=opset,
        )
        onnx.checker.check_model(onnx.load(path))
        print(f'{path}: {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    main()
