"""
rederive_mmcst.py — a second, independent PyTorch restatement of MMCST
(Xu et al., "Learning Multi-Modal Class-Specific Tokens for Weakly Supervised Dense Object
Localization", CVPR 2023), derived from the paper text (/work/shared/papers/mmcst-cvpr2023.md,
mmcst-poster.md) and the MCTformer code it builds on (xulianuwa/MCTformer: models.py/engine.py
@ 9606597, MCTformerV2; models.py @ 0acc27a, MCTformerPlus, for GWRP as coded). The official MMCST
code is not public (github.com/xulianuwa/MMCST is not in any index we can reach).

Part 1 (the functions down to `forward_paper` and `localization_maps_paper`) was written BEFORE reading
tests/reference/mmcst/gen_mmcst.py, docs/methods.md §2.2/§0.1 or models/mmcst*.{h,cpp}; it is
committed on its own first (see git log of this file). Part 2 (`load_fixture` and `main`) maps the
fixture's inputs and weights onto Part 1 and prints the comparison table written into REDERIVATION.md.

Every place where the paper is ambiguous is marked `AMBIGUITY <n>` with the reading taken; the other
readings are available through the `Reading` switches so the comparison can say which reading the
fixture follows.

Shapes: B images, C classes, P = N*N patches, D token width, E CLIP embedding width, H heads.
"""
from dataclasses import dataclass, field
import math

import torch
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------
# Part 1: the paper
# ----------------------------------------------------------------------------------------------

@dataclass
class Reading:
    """The switches for the paper's ambiguous places; the defaults are this re-derivation's reading."""
    # AMBIGUITY 1 (§3.1 "we use the masked self-attention as shown in Figure 3 (right)" so that
    # "class tokens and text tokens fully interact with patch tokens but not competing with each
    # other"): which query/key pairs are masked. Reading taken: 'cross' = a class token cannot attend
    # to a text token and a text token cannot attend to a class token; class tokens still see each
    # other (as in MCTformer, whose class tokens are unmasked) and text tokens see each other; patch
    # tokens see everything. Alternative 'token_diag': additionally each class/text token attends to
    # itself only among the 2C class+text tokens.
    mask: str = 'cross'
    # AMBIGUITY 2 (§3.1 "With the added learnable positional embeddings, these three types of tokens
    # are ... concatenated"): the text tokens also get a learnable positional embedding. Reading:
    # yes (one embedding per token type: class C x D, text C x D, patch P x D). If the fixture has no
    # text positional embedding the term is simply absent (zeros).
    # AMBIGUITY 3 (§3.2 "T_txt = T_txt^in + λ1 T_txt^out", "T_cls = T_cls^in + λ2 T_cls^out"): is
    # T^in the token parameter before or after its positional embedding is added? Reading: before
    # (the "global class-specific tokens" are the learned/CLIP token values; the positional embedding
    # belongs to the sequence position). 'after' is the alternative.
    fuse_in: str = 'before_pos'
    # AMBIGUITY 4 (§3.1 "initialized by the pre-trained CLIP text embeddings ... kept constant";
    # CLIP ViT-B/16 text embeddings are E = 512 wide, ViT-base tokens D = 768): the paper names no
    # map from E to D. Reading: a learned linear map (weight D x E, bias D) applied to the constant
    # CLIP embeddings gives T_txt^in; the CLIP embeddings themselves stay constant. When E == D and
    # no map is given, identity.
    # AMBIGUITY 5 (§3.2 Image-language context / Fig. 2 "contrastive regularization loss on the
    # averaged output text tokens"): the B "text tokens" are the per-image mean over the C output
    # text tokens T_txt^out (not the fused T_txt, not only the ground-truth classes). Their width D
    # must meet the CLIP image embedding width E: reading, a learned linear map D -> E when given,
    # identity when D == E.
    txt_avg: str = 'all_classes'          # or 'gt_classes'
    # AMBIGUITY 6 (Eq. 2 "L_contrast = CrossEntropy(S, I)"): what S is. Reading: cosine similarity
    # (both sides L2-normalised, as CLIP's own image-text matching), times a scale `contrast_scale`
    # (CLIP's logit scale; the paper gives none, so 1.0 unless the fixture carries one), rows = the B
    # output text tokens, columns = the B CLIP image embeddings, softmax over each row (PyTorch
    # cross_entropy(S, arange(B))). Alternatives: 'cols' (softmax over text tokens for each image —
    # §3.2 "each text token is also constrained to be discriminative from other text tokens in the
    # same batch" reads that way), 'sym' (CLIP's symmetric mean of both), and raw dot products.
    contrast_dir: str = 'rows'
    contrast_norm: bool = True
    contrast_scale: float = 1.0
    # AMBIGUITY 7 (§3.3 "output patch tokens ... are first linearly projected and then transposed to
    # 2D feature maps F in R^{NxNxD}"): one linear map D -> D with bias on the output patch tokens; no
    # final LayerNorm on the encoder output (MCTformerV2's forward_features has none). 'final_norm'
    # switch for the alternative (timm ViT's final norm before the heads).
    final_norm: bool = False
    # AMBIGUITY 8 (Eq. 3): the decay d is not given in the paper. MCTformerPlus (same authors, GWRP
    # as coded, models.py @ 0acc27a) uses d = 0.996 with weights torch.logspace(0, P-1, P, base=d)
    # and the sum divided by the sum of the weights. Reading: that formula; d from the fixture.
    gwrp_d: float = 0.996
    # AMBIGUITY 9 (§3.4 Eq. 10, "class-specific attention maps A_c2p ... from the transformer
    # self-attention maps", "similar to MCTformer"): A_c2p = class-token -> patch attention,
    # head-averaged, summed over the last `attn_layers` layers (MCTformerV2 engine: sum; MCTformerPlus:
    # mean — equal up to scale, removed by the min-max normalisation). Only the class tokens, not the
    # text tokens. C_mm is used as is in Eq. 10 (the paper shows no ReLU; MCTformerV2 applies ReLU to
    # its patch-CAM before the product: 'relu_cmm' switch).
    attn_layers: int = 0                  # 0 = all layers
    relu_cmm: bool = False
    # AMBIGUITY 10 (Eq. 11 A_p2p): patch -> patch attention head-averaged and summed over ALL layers
    # (MCTformer engine.generate_attention_maps_ms: patch_attn = sum over dim 0 of all 12 layers), the
    # sub-block of the full (C + C + P) softmax, not renormalised.
    # AMBIGUITY 11 (Eq. 8): all four terms weight 1 (the paper's text; no weights are named).
    w_cls: float = 1.0
    w_contrast: float = 1.0
    w_t2p: float = 1.0
    w_c2p: float = 1.0
    ln_eps: float = 1e-6                  # timm ViT (MCTformer) LayerNorm eps
    extra: dict = field(default_factory=dict)


def mlsm(logits, y):
    """Eq. 1, multi-label soft margin: mean over classes of the binary cross-entropy on sigmoid
    scores, then mean over the batch (torch.nn.functional.multilabel_soft_margin_loss).
    logits, y: (B, C)."""
    per = -(y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits))
    return per.mean(dim=1).mean()


def gwrp(X, d):
    """Eq. 3. X: (B, P, C) flattened correlation maps. Sort each class's P scores descending,
    weight the j-th largest by d^(j-1), divide by Z(d) = sum_j d^(j-1). Returns (B, C)."""
    P = X.shape[1]
    w = torch.tensor([d ** j for j in range(P)], dtype=X.dtype)
    srt, _ = torch.sort(X, dim=1, descending=True)
    return (srt * w.view(1, P, 1)).sum(dim=1) / w.sum()


def build_mask(C, P, kind):
    """AMBIGUITY 1. Sequence order [class tokens (C), text tokens (C), patch tokens (P)].
    Returns an additive (L, L) mask, 0 where query row may attend key column, -inf elsewhere."""
    L = 2 * C + P
    allow = torch.ones(L, L, dtype=torch.bool)
    cls = slice(0, C)
    txt = slice(C, 2 * C)
    if kind in ('cross', 'token_diag'):
        allow[cls, txt] = False
        allow[txt, cls] = False
    if kind == 'token_diag':
        eye = torch.eye(C, dtype=torch.bool)
        allow[cls, cls] = eye
        allow[txt, txt] = eye
    if kind == 'none':
        pass
    m = torch.zeros(L, L)
    m[~allow] = float('-inf')
    return m


def block(x, p, mask, heads, eps):
    """Pre-norm ViT block (timm / MCTformer vision_transformer.Block) with an additive attention
    mask on the logits before the softmax. x: (B, L, D). Returns x and the attention (B, H, L, L)."""
    B, L, D = x.shape
    h = F.layer_norm(x, (D,), p['ln1_w'], p['ln1_b'], eps)
    qkv = F.linear(h, p['qkv_w'], p['qkv_b']).reshape(B, L, 3, heads, D // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    logits = (q @ k.transpose(-2, -1)) * (D // heads) ** -0.5 + mask
    attn = logits.softmax(dim=-1)
    o = (attn @ v).transpose(1, 2).reshape(B, L, D)
    x = x + F.linear(o, p['proj_w'], p['proj_b'])
    h = F.layer_norm(x, (D,), p['ln2_w'], p['ln2_b'], eps)
    x = x + F.linear(F.gelu(F.linear(h, p['fc1_w'], p['fc1_b'])), p['fc2_w'], p['fc2_b'])
    return x, attn


def forward_paper(W, images, labels, clip_text, clip_image, patch, heads, R: Reading):
    """The training forward and the four losses of Eq. 8.
    W: dict of weights (names in this file's own convention, see load_fixture).
    images (B, 3, S, S); labels (B, C) in {0,1}; clip_text (C, E) constant CLIP text embeddings of
    "a photo of [CLS]"; clip_image (B, E) CLIP image embeddings of the same images.
    Returns a dict of every intermediate quantity and loss."""
    B = images.shape[0]
    C = labels.shape[1]
    # patch embedding: conv k = s = patch, flattened row-major to (B, P, D)
    pt = F.conv2d(images, W['patch_w'], W['patch_b'], stride=patch).flatten(2).transpose(1, 2)
    P, D = pt.shape[1], pt.shape[2]
    # global tokens (AMBIGUITY 4: E -> D map for the constant CLIP text embeddings)
    t_cls_in = W['cls_token']                                            # (C, D)
    if 'txt_in_w' in W:
        t_txt_in = F.linear(clip_text, W['txt_in_w'], W.get('txt_in_b'))  # (C, D)
    else:
        t_txt_in = clip_text
    pos_cls = W.get('pos_cls', torch.zeros(C, D))
    pos_txt = W.get('pos_txt', torch.zeros(C, D))                        # AMBIGUITY 2
    pos_pat = W['pos_pat']                                               # (P, D)
    x = torch.cat([(t_cls_in + pos_cls).expand(B, C, D),
                   (t_txt_in + pos_txt).expand(B, C, D),
                   pt + pos_pat], dim=1)                                 # (B, 2C + P, D)
    mask = build_mask(C, P, R.mask)
    attns = []
    for p in W['blocks']:
        x, a = block(x, p, mask, heads, R.ln_eps)
        attns.append(a)
    if R.final_norm:
        x = F.layer_norm(x, (D,), W['norm_w'], W['norm_b'], R.ln_eps)
    t_cls_out = x[:, :C]                                                 # (B, C, D)
    t_txt_out = x[:, C:2 * C]                                            # (B, C, D)
    pat_out = x[:, 2 * C:]                                               # (B, P, D)

    # §3.1: class scores = channel-wise mean of the output class tokens; Eq. 1
    y_cls = t_cls_out.mean(dim=-1)                                       # (B, C)
    L_cls = mlsm(y_cls, labels)

    # §3.2 visual context: fused tokens (AMBIGUITY 3)
    if R.fuse_in == 'before_pos':
        g_cls, g_txt = t_cls_in, t_txt_in
    else:
        g_cls, g_txt = t_cls_in + pos_cls, t_txt_in + pos_txt
    T_txt = g_txt.unsqueeze(0) + W['lambda1'] * t_txt_out               # (B, C, D)
    T_cls = g_cls.unsqueeze(0) + W['lambda2'] * t_cls_out               # (B, C, D)

    # §3.3: F = linear(output patch tokens); C_t2p = F T_txt^T, C_c2p = F T_cls^T  (B, P, C)
    Fm = F.linear(pat_out, W['pproj_w'], W.get('pproj_b'))              # (B, P, D)
    X_t2p = Fm @ T_txt.transpose(1, 2)
    X_c2p = Fm @ T_cls.transpose(1, 2)
    y_t2p = gwrp(X_t2p, R.gwrp_d)                                        # Eq. 5
    y_c2p = gwrp(X_c2p, R.gwrp_d)                                        # Eq. 4
    L_t2p = mlsm(y_t2p, labels)                                          # Eq. 7
    L_c2p = mlsm(y_c2p, labels)                                          # Eq. 6

    # §3.2 image-language context, Eq. 2 (AMBIGUITIES 5, 6)
    if R.txt_avg == 'all_classes':
        t_avg = t_txt_out.mean(dim=1)                                    # (B, D)
    else:
        wgt = labels / labels.sum(dim=1, keepdim=True).clamp(min=1)
        t_avg = (t_txt_out * wgt.unsqueeze(-1)).sum(dim=1)
    if 'txt_out_w' in W:
        t_emb = F.linear(t_avg, W['txt_out_w'], W.get('txt_out_b'))     # (B, E)
    else:
        t_emb = t_avg
    if R.contrast_norm:
        S = R.contrast_scale * F.normalize(t_emb, dim=-1) @ F.normalize(clip_image, dim=-1).t()
    else:
        S = R.contrast_scale * t_emb @ clip_image.t()                    # (B text, B image)
    tgt = torch.arange(B)
    L_rows = F.cross_entropy(S, tgt)
    L_cols = F.cross_entropy(S.t(), tgt)
    L_contrast = {'rows': L_rows, 'cols': L_cols, 'sym': 0.5 * (L_rows + L_cols)}[R.contrast_dir]

    L_total = R.w_cls * L_cls + R.w_contrast * L_contrast + R.w_t2p * L_t2p + R.w_c2p * L_c2p  # Eq. 8
    return dict(t_cls_out=t_cls_out, t_txt_out=t_txt_out, pat_out=pat_out, F=Fm,
                T_txt=T_txt, T_cls=T_cls, X_t2p=X_t2p, X_c2p=X_c2p, y_cls=y_cls, y_t2p=y_t2p,
                y_c2p=y_c2p, t_emb=t_emb, S=S, L_cls=L_cls, L_t2p=L_t2p, L_c2p=L_c2p,
                L_contrast=L_contrast, L_contrast_rows=L_rows, L_contrast_cols=L_cols,
                L_total=L_total, attns=attns, C=C, P=P)


def localization_maps_paper(out, labels, out_size, R: Reading):
    """§3.4, Eqs. 9–11, MCTformer-style. Returns (B, C, S, S) maps in [0, 1] for the
    ground-truth classes (zeros elsewhere, as MCTformer multiplies by the label)."""
    C, P = out['C'], out['P']
    N = int(round(math.sqrt(P)))
    B = labels.shape[0]
    C_mm = (out['X_t2p'] + out['X_c2p']).transpose(1, 2)                 # Eq. 9, (B, C, P)
    if R.relu_cmm:
        C_mm = F.relu(C_mm)
    A = torch.stack(out['attns']).mean(dim=2)                           # (layers, B, L, L) head mean
    n = R.attn_layers or A.shape[0]
    A_c2p = A[-n:].sum(0)[:, :C, 2 * C:]                                 # (B, C, P)
    A_p2p = A.sum(0)[:, 2 * C:, 2 * C:]                                  # (B, P, P), all layers
    M_hat = C_mm * A_c2p                                                 # Eq. 10
    M = (A_p2p.unsqueeze(1) @ M_hat.unsqueeze(-1)).squeeze(-1)           # Eq. 11, (B, C, P)
    gh, gw = out.get('grid', (N, N))                                     # square unless given
    M = M.reshape(B, C, gh, gw)
    up = F.interpolate(M, size=out_size, mode='bilinear', align_corners=False)
    mn = up.flatten(2).min(-1)[0][..., None, None]
    mx = up.flatten(2).max(-1)[0][..., None, None]
    norm = (up - mn) / (mx - mn + 1e-8)
    return dict(C_mm=C_mm, A_c2p=A_c2p, A_p2p=A_p2p, M_hat=M_hat, M=M,
                maps=norm * labels[..., None, None])


# ----------------------------------------------------------------------------------------------
# Part 2: run Part 1 on the fixture's inputs and weights (written after reading gen_mmcst.py and the
# fixture layout) and print the comparison tables of REDERIVATION.md.
# Run from the repository root: python tests/reference/mmcst/rederive_mmcst.py
# ----------------------------------------------------------------------------------------------

import os
import sys

from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, 'mmcst_parity.safetensors')
MAPS_FIXTURE = os.path.join(HERE, '..', 'localize', 'attention_maps.safetensors')
DT = torch.float64  # compare readings, not rounding: everything in double


def read(path):
    with safe_open(path, 'pt') as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def load_fixture(fx):
    """Maps the fixture's PyTorch state_dict names (gen_mmcst.py Net) onto this file's names.
    Returns W (leaf tensors requiring grad, float64), the inputs, C, and a name map W-key -> fixture key."""
    p = {k[len('param.'):]: v.to(DT) for k, v in fx.items() if k.startswith('param.')}
    C = p['cls_token'].shape[1]
    P = p['pos_embed'].shape[1] - 2 * C
    depth = len({k.split('.')[1] for k in p if k.startswith('blocks.')})
    leaf = lambda t: t.clone().requires_grad_(True)
    W = dict(patch_w=leaf(p['patch_embed.proj.weight']), patch_b=leaf(p['patch_embed.proj.bias']),
             cls_token=leaf(p['cls_token'][0]), txt_in_w=leaf(p['text_proj.weight']),
             txt_in_b=leaf(p['text_proj.bias']), pos=leaf(p['pos_embed'][0]),
             lambda1=leaf(p['lambda_txt']), lambda2=leaf(p['lambda_cls']),
             pproj_w=leaf(p['patch_proj.weight']), pproj_b=leaf(p['patch_proj.bias']),
             txt_out_w=leaf(p['contrast_proj.weight']), txt_out_b=leaf(p['contrast_proj.bias']))
    names = dict(patch_w='patch_embed.proj.weight', patch_b='patch_embed.proj.bias', cls_token='cls_token',
                 txt_in_w='text_proj.weight', txt_in_b='text_proj.bias', pos='pos_embed', lambda1='lambda_txt',
                 lambda2='lambda_cls', pproj_w='patch_proj.weight', pproj_b='patch_proj.bias',
                 txt_out_w='contrast_proj.weight', txt_out_b='contrast_proj.bias')
    # one positional embedding row per token, in the order [class | text | patch] (AMBIGUITY 2)
    W['pos_cls'], W['pos_txt'], W['pos_pat'] = W['pos'][:C], W['pos'][C:2 * C], W['pos'][2 * C:]
    tr = dict(ln1_w='norm1.weight', ln1_b='norm1.bias', qkv_w='attn.qkv.weight', qkv_b='attn.qkv.bias',
              proj_w='attn.proj.weight', proj_b='attn.proj.bias', ln2_w='norm2.weight', ln2_b='norm2.bias',
              fc1_w='mlp.fc1.weight', fc1_b='mlp.fc1.bias', fc2_w='mlp.fc2.weight', fc2_b='mlp.fc2.bias')
    W['blocks'] = []
    for i in range(depth):
        blk = {}
        for mine, theirs in tr.items():
            blk[mine] = leaf(p[f'blocks.{i}.{theirs}'])
            names[f'blocks.{i}.{mine}'] = f'blocks.{i}.{theirs}'
        W['blocks'].append(blk)
    inputs = dict(images=fx['input.images'].to(DT).clone().requires_grad_(True),
                  labels=fx['input.labels'].to(DT),
                  clip_image=fx['input.clip_image_embeddings'].to(DT).clone().requires_grad_(True),
                  clip_text=p['text_embed'])
    return W, inputs, C, P, names, p


def rel(a, b):
    """max |a - b| / max |b| over the tensor (b = the fixture)."""
    a, b = a.detach().to(DT), b.detach().to(DT)
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def fmt(t):
    t = t.detach()
    if t.numel() == 1:
        return f'{float(t):.6f}'
    return f'{tuple(t.shape)} max abs {float(t.abs().max()):.4f}'


def fixture_outputs(o, C, P, heads_attn):
    """This file's quantities in the fixture's output names and layouts."""
    B = o['y_cls'].shape[0]
    n = int(round(math.sqrt(P)))
    mine = {f'attn.{i}': a for i, a in enumerate(heads_attn)}
    mine.update({'cls_logits': o['y_cls'],
                 'c2p': o['X_c2p'].transpose(1, 2).reshape(B, C, n, n),
                 't2p': o['X_t2p'].transpose(1, 2).reshape(B, C, n, n),
                 'c2p_logits': o['y_c2p'], 't2p_logits': o['y_t2p'], 'text_embedding': o['t_emb'],
                 'loss.mlsm_cls': o['L_cls'], 'loss.contrast': o['L_contrast'], 'loss.mlsm_t2p': o['L_t2p'],
                 'loss.mlsm_c2p': o['L_c2p'], 'loss.total': o['L_total']})
    return mine


def run(fx, R, heads):
    W, x, C, P, names, p = load_fixture(fx)
    o = forward_paper(W, x['images'], x['labels'], x['clip_text'], x['clip_image'], 8, heads, R)
    return W, x, C, P, names, p, o


def main():
    fx, meta = read(FIXTURE)
    print('fixture', os.path.relpath(FIXTURE), meta)
    heads = fx['output.attn.0'].shape[1]
    patch = fx['param.patch_embed.proj.weight'].shape[-1]
    assert patch == 8
    decay = float(meta['config'].split('decay')[1].split()[0])  # the fixture's test decay (the paper gives none)
    fixture_scale = float(torch.exp(fx['param.logit_scale'].to(DT).clamp(max=math.log(100))))

    # (1) this re-derivation's reading, the paper's silent temperature taken as 1
    R0 = Reading(gwrp_d=decay, contrast_scale=1.0)
    # (2) the same with the fixture's contrast scale exp(logit_scale) = 1/0.07
    R1 = Reading(gwrp_d=decay, contrast_scale=fixture_scale)
    outs = {}
    for tag, R in (('paper', R0), ('paper+tau', R1)):
        W, x, C, P, names, p, o = run(fx, R, heads)
        outs[tag] = (W, x, names, fixture_outputs(o, C, P, o['attns']), o)

    print('\n## Table 1: every output and loss term (f64 re-derivation vs the f32 fixture)')
    print('| quantity | fixture | re-derived (paper reading, scale 1) | rel. diff | re-derived (scale = 1/0.07) | rel. diff |')
    print('|---|---|---|---:|---|---:|')
    mine0, mine1 = outs['paper'][3], outs['paper+tau'][3]
    for k in mine0:
        ref = fx['output.' + k]
        print(f'| {k} | {fmt(ref)} | {fmt(mine0[k])} | {rel(mine0[k], ref):.2e} | {fmt(mine1[k])} | '
              f'{rel(mine1[k], ref):.2e} |')
    # the mask pattern itself
    C = int(fx['output.layout'][0])
    Pn = int(fx['output.layout'][2] * fx['output.layout'][3])
    m = build_mask(C, Pn, 'cross')
    print(f'| attn_blocked (mask pattern) | {int(fx["output.attn_blocked"].sum())} blocked pairs | '
          f'{int(torch.isinf(m).sum())} blocked pairs | '
          f'{float((torch.isinf(m).double() - fx["output.attn_blocked"].double()).abs().max()):.0e} | | |')
    o1 = {k: (v.detach() if torch.is_tensor(v) else v) for k, v in outs['paper+tau'][4].items()}
    print(f'\ncontrast variants at scale 1/0.07: rows {float(o1["L_contrast_rows"]):.6f}, cols '
          f'{float(o1["L_contrast_cols"]):.6f}, sym {0.5 * float(o1["L_contrast_rows"] + o1["L_contrast_cols"]):.6f}; '
          f'fixture {float(fx["output.loss.contrast"]):.6f}')
    o0 = {k: (v.detach() if torch.is_tensor(v) else v) for k, v in outs['paper'][4].items()}
    print(f'contrast at scale 1 (this reading): rows {float(o0["L_contrast_rows"]):.6f}, log B = '
          f'{math.log(o0["S"].shape[0]):.6f}; with CLIP ViT-B/16\'s trained logit scale 100: '
          f'{float(F.cross_entropy(100.0 / fixture_scale * o1["S"], torch.arange(3))):.6f}')

    # (3) gradients of the fixture loss (sum over outputs of output * weight), scale = fixture's
    W, x, names, mine, o = outs['paper+tau']
    loss = sum((mine[k] * fx['weight.' + k].to(DT)).sum() for k in mine)
    # the fixture's logit_scale is a parameter: d loss / d logit_scale = d loss / d scale * scale
    print('\n## Table 2: gradients of the fixture loss (scale = 1/0.07)')
    print('| parameter / input | max abs fixture grad | rel. diff |')
    print('|---|---:|---:|')
    leaves = {k: v for k, v in W.items() if k not in ('blocks', 'pos_cls', 'pos_txt', 'pos_pat')}
    for i, blk in enumerate(W['blocks']):
        for k, v in blk.items():
            leaves[f'blocks.{i}.{k}'] = v
    grads = torch.autograd.grad(loss, list(leaves.values()) + [x['images'], x['clip_image']])
    worst = 0.0
    for (k, v), g in zip(leaves.items(), grads):
        ref = fx['grad.param.' + names[k]].to(DT)
        if k == 'cls_token':
            g = g.unsqueeze(0)
        if k == 'pos':
            g = g.unsqueeze(0)
        r = rel(g.reshape(ref.shape), ref)
        worst = max(worst, r)
        if not k.startswith('blocks.') or k.startswith('blocks.0.qkv') or k.startswith('blocks.1.fc2'):
            print(f'| {names[k]} | {float(ref.abs().max()):.4e} | {r:.2e} |')
    for name, g in zip(('images', 'clip_image_embeddings'), grads[-2:]):
        ref = fx['grad.input.' + name].to(DT)
        r = rel(g, ref)
        worst = max(worst, r)
        print(f'| input.{name} | {float(ref.abs().max()):.4e} | {r:.2e} |')
    print(f'(all {len(leaves)} parameter tensors and 2 inputs: worst rel. diff {worst:.2e}; '
          f'logit_scale is not a parameter of this reading)')

    # (4) sensitivity: each alternative reading, how far from the fixture (does the fixture pin the reading?)
    print('\n## Table 3: alternative readings of the ambiguous places vs the fixture (scale 1/0.07)')
    print('| reading changed | quantities that move | worst rel. diff vs fixture |')
    print('|---|---|---:|')
    alts = [('AMB 1 mask: none (no mask)', dict(mask='none')),
            ('AMB 1 mask: token_diag (class/text see only themselves)', dict(mask='token_diag')),
            ('AMB 3 fusion T^in after the positional embedding', dict(fuse_in='after_pos')),
            ('AMB 5 text average over GT classes only', dict(txt_avg='gt_classes')),
            ('AMB 6 softmax over text tokens (columns)', dict(contrast_dir='cols')),
            ('AMB 6 symmetric CLIP loss', dict(contrast_dir='sym')),
            ('AMB 6 raw dot products (no L2 normalisation)', dict(contrast_norm=False)),
            ('AMB 8 GWRP d = 0.996 instead of the fixture\'s 0.9', dict(gwrp_d=0.996))]
    for label, kw in alts:
        R = Reading(**{**dict(gwrp_d=decay, contrast_scale=fixture_scale), **kw})
        _, _, C2, P2, _, _, o = run(fx, R, heads)
        mm = fixture_outputs(o, C2, P2, o['attns'])
        diffs = {k: rel(mm[k], fx['output.' + k]) for k in mm}
        moved = [k for k, d in diffs.items() if d > 1e-5]
        print(f'| {label} | {", ".join(moved) if moved else "none"} | {max(diffs.values()):.2e} |')

    # (5) inference maps, Eqs. 9-11, on the attention-map fixture's MMCST case (tests/test_attention_maps.cpp)
    am, _ = read(MAPS_FIXTURE)
    L = len([k for k in am if k.startswith('input.attn_mmcst.')])
    lay = am['layout.mmcst']
    Cm, ps, gh, gw = int(lay[1]), int(lay[2]), int(lay[3]), int(lay[4])
    Pm = gh * gw
    attns = [am[f'input.attn_mmcst.{l}'].to(DT)[..., :ps + Pm, :ps + Pm] for l in range(L)]  # drop the extra token
    cam = am['input.cam'].to(DT)                                    # stands for C_t2p + C_c2p, (B, C, gh, gw)
    Bm = cam.shape[0]
    fake = dict(C=Cm, P=Pm, grid=(gh, gw), attns=attns, X_t2p=cam.reshape(Bm, Cm, Pm).transpose(1, 2),
                X_c2p=torch.zeros(Bm, Pm, Cm, dtype=DT))
    ref = am['output.mmcst_fused_refine'].to(DT)
    print('\n## Table 4: inference maps (Eqs. 9-11) on tests/reference/localize/attention_maps.safetensors, '
          f'MMCST layout, {L} blocks, before upsampling')
    print('| reading | rel. diff vs output.mmcst_fused_refine |')
    print('|---|---:|')
    labs = torch.ones(Bm, Cm, dtype=DT)
    for label, kw in [('paper: no ReLU on C_mm, A_c2p over all blocks', dict()),
                      ('paper + MCTformer ReLU on C_mm', dict(relu_cmm=True)),
                      ('all blocks -> last 3 (MCTformer --layer-index 3)', dict(attn_layers=3)),
                      ('ReLU + last 3 (the shared reading)', dict(relu_cmm=True, attn_layers=3))]:
        Rm = Reading(**kw)
        M = localization_maps_paper(fake, labs, (gh, gw), Rm)['M']
        print(f'| {label} | {rel(M, ref):.2e} |')

    # (6) the same two readings on the trained-forward fixture's network (maps at the input size, GT classes)
    W, x, names, mine, o = outs['paper+tau']
    size = tuple(x['images'].shape[-2:])
    o = {k: ([a.detach() for a in v] if k == 'attns' else v.detach() if torch.is_tensor(v) else v)
         for k, v in o.items()}
    a = localization_maps_paper(o, x['labels'], size, Reading(gwrp_d=decay))['maps']
    b = localization_maps_paper(o, x['labels'], size, Reading(gwrp_d=decay, relu_cmm=True, attn_layers=3))['maps']
    neg = float((o['X_t2p'] + o['X_c2p'] < 0).double().mean())
    sel = x['labels'].bool()
    print(f'\nmmcst_parity network: fraction of C_mm < 0: {neg:.3f}; final maps (GT classes, min-max normalised), '
          f'no-ReLU vs ReLU reading: max |diff| {float((a - b).abs()[sel].max()):.3f}, mean |diff| '
          f'{float((a - b).abs()[sel].mean()):.3f}')
    # (8) how much the (unstated) contrast temperature weighs: gradient norms of each Eq. 8 term with respect to
    # the encoder's parameters (patch embedding, class token, positional embedding, blocks) on the fixture network
    print('\n## Table 5: gradient norm of each loss term w.r.t. the encoder parameters, by contrast scale')
    print('| contrast scale | L_contrast | norm grad L_contrast | norm grad L_cls | norm grad L_t2p | norm grad L_c2p |')
    print('|---|---:|---:|---:|---:|---:|')
    for sc in (1.0, fixture_scale, 100.0):
        W, x, C3, P3, names, p, o = run(fx, Reading(gwrp_d=decay, contrast_scale=sc), heads)
        enc = [W['patch_w'], W['patch_b'], W['cls_token'], W['pos']] + [t for b in W['blocks'] for t in b.values()]
        norms = []
        for term in ('L_contrast', 'L_cls', 'L_t2p', 'L_c2p'):
            g = torch.autograd.grad(o[term], enc, retain_graph=True, allow_unused=True)
            norms.append(math.sqrt(sum(float((t ** 2).sum()) for t in g if t is not None)))
        print(f'| {sc:.3f} | {float(o["L_contrast"].detach()):.4f} | ' + ' | '.join(f'{n:.4f}' for n in norms) + ' |')

    # (7) GWRP's decay against the grid size: the weight of the last rank, d^(P-1)
    for P_, d_ in ((196, 0.996), (64, 0.996), (64, 0.457 ** (1 / 63))):
        print(f'GWRP P = {P_}, d = {d_:.4f}: last-rank weight d^(P-1) = {d_ ** (P_ - 1):.3f}, '
              f'mean weight / first weight = {sum(d_ ** j for j in range(P_)) / P_:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
