# gen_format_fixtures.py — writes the checkpoint-format fixtures read by tests/test_weights_*.cpp (seeded; run from
# this folder with torch, safetensors, numpy and Pillow installed; written with torch 2.15.0, Python 3.11).
#
#   python gen_format_fixtures.py
#
# Every fixture is small (well under 200 KB). For each file holding tensors, a companion "*.expected.safetensors"
# holds what wsdol must read from it, bit for bit: the chosen state_dict, "module." stripped, views as contiguous
# copies, int8/int16/uint16 widened to int32 (wsdol's rule, the same as its safetensors reader's).
#
# Malicious files (evil_*) are assembled by hand from pickle opcodes and are NEVER unpickled here: they must
# not be opened with pickle/torch.load.
import argparse
import collections
import io
import os
import pickle
import struct
import tarfile
import warnings
import zipfile

import numpy as np
import torch
from safetensors.torch import save_file

warnings.filterwarnings("ignore")  # torch.jit deprecation notices
torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def expected(tensors):
    """Contiguous, unshared copies in wsdol's dtypes (int8/int16/uint16 -> int32, uint32 -> int64)."""
    out = collections.OrderedDict()
    for k, v in tensors.items():
        v = v.detach().clone().contiguous()
        if v.dtype in (torch.int8, torch.int16, torch.uint16):
            v = v.to(torch.int32)
        elif v.dtype == torch.uint32:
            v = v.to(torch.int64)
        out[k] = v
    return out


def save_expected(name, tensors):
    save_file(expected(tensors), path(name), metadata={"generator": "gen_format_fixtures.py"})


# ---------------------------------------------------------------- state dicts


def basic_state_dict():
    """Every loadable dtype, a scalar, a zero-size tensor, views sharing one storage (offsets, a transposed and a
    column view: non-contiguous), an expanded (stride 0) tensor and nn.Parameter values."""
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4)
    sd["f16"] = torch.randn(5).half()
    sd["bf16"] = torch.randn(2, 3).bfloat16()
    sd["f64"] = torch.randn(2, 2, dtype=torch.float64)
    sd["i64"] = torch.tensor([-5, 1 << 40, 7, 0], dtype=torch.int64)
    sd["i32"] = torch.tensor([1, -2, 2147483647], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 2, 32767], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 5, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255, 1, 2, 3], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True, True, False])
    sd["scalar"] = torch.tensor(3.25)
    sd["zero"] = torch.zeros(0, 3)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd["view.base"] = base
    sd["view.row"] = base[1]              # storage_offset 6
    sd["view.rows"] = base[1:3]           # offset, contiguous
    sd["view.t"] = base.t()               # transposed: stride (1, 6)
    sd["view.col"] = base[:, 2]           # stride 6, offset 2
    sd["expand"] = torch.tensor([[1.0], [2.0], [3.0]]).expand(3, 4)  # stride (1, 0)
    sd["param.weight"] = torch.nn.Parameter(torch.randn(2, 3))
    sd["param.frozen"] = torch.nn.Parameter(torch.randn(2), requires_grad=False)
    sd["bn.num_batches_tracked"] = torch.tensor(17, dtype=torch.int64)
    return sd


def small_state_dict():
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(4, 3, 3, 3)
    sd["conv.bias"] = torch.randn(4)
    sd["bn.weight"] = torch.rand(4) + 0.5
    sd["bn.running_var"] = torch.rand(4)
    sd["bn.num_batches_tracked"] = torch.tensor(3, dtype=torch.int64)
    sd["fc.weight"] = torch.randn(2, 4).half()
    return sd


def write_state_dict_fixtures():
    sd = basic_state_dict()
    torch.save(sd, path("sd_basic.pt"))
    torch.save(sd, path("sd_basic_legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(sd, path("sd_basic_proto4.pt"), pickle_protocol=4)  # FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE
    save_expected("sd_basic.expected.safetensors", sd)

    # uint16 goes through _rebuild_tensor_v3 with an UntypedStorage and a dtype global.
    v3 = collections.OrderedDict(u16=torch.tensor([0, 65535, 3], dtype=torch.uint16),
                                 u32=torch.tensor([4000000000, 1], dtype=torch.uint32))
    torch.save(v3, path("sd_v3.pt"))
    save_expected("sd_v3.expected.safetensors", v3)

    # dtypes wsdol refuses (clear errors naming the tensor)
    torch.save(collections.OrderedDict(ok=torch.ones(2), c=torch.ones(2, dtype=torch.complex64)),
               path("sd_complex.pt"))
    torch.save(collections.OrderedDict(f8=torch.ones(2).to(torch.float8_e4m3fn)), path("sd_float8.pt"))

    # A training checkpoint: {'model': state_dict with DataParallel names, 'args': Namespace, 'epoch': int}
    small = small_state_dict()
    ckpt = {"model": collections.OrderedDict(("module." + k, v) for k, v in small.items()),
            "args": argparse.Namespace(lr=0.1, arch="resnet"), "epoch": 7}
    torch.save(ckpt, path("ckpt_model_args.pt"))
    torch.save(ckpt, path("ckpt_model_args_legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 1, "state_dict": small, "best_acc": 0.5}, path("ckpt_state_dict.pt"))
    save_expected("ckpt_small.expected.safetensors", small)

    # 1010 one-element views of one storage: SETITEMS batches of 1000, memo indices above 255 (LONG_BINPUT).
    big = torch.arange(1010, dtype=torch.float32)
    many = collections.OrderedDict((f"layer.{i}.w", big[i]) for i in range(1010))
    torch.save(many, path("sd_many_views.pt"))
    save_expected("sd_many_views.expected.safetensors", many)

    # A whole pickled module (torch.save(model)): refused, naming its class.
    torch.save(torch.nn.Linear(2, 2), path("whole_module.pt"))

    # Byte order "big": the same records with every element byte-swapped (torch.load swaps them back).
    write_big_endian(path("big_endian.pt"), small)

    # Re-zipped with deflate (method 8): optional for readers.
    rezip(path("ckpt_state_dict.pt"), path("deflated.pt"), zipfile.ZIP_DEFLATED)


def write_big_endian(dst, small):
    buf = io.BytesIO()
    torch.save(small, buf)  # top folder "archive"
    zin = zipfile.ZipFile(buf)
    sizes = {str(i): v.element_size() for i, v in enumerate(small.values())}  # storage keys in pickling order
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            rel = info.filename.split("/", 1)[1]
            data = zin.read(info.filename)
            if rel == "byteorder":
                data = b"big"
            elif rel.startswith("data/"):
                k = sizes[rel[5:]]
                data = b"".join(data[i:i + k][::-1] for i in range(0, len(data), k))
            zout.writestr("big_endian/" + rel, data)
    loaded = torch.load(dst, weights_only=True)
    for k, v in small.items():
        assert torch.equal(loaded[k], v), k


def rezip(src, dst, method):
    zin = zipfile.ZipFile(src)
    with zipfile.ZipFile(dst, "w", method) as zout:
        for info in zin.infolist():
            name = info.filename.replace(os.path.splitext(os.path.basename(src))[0], "deflated", 1)
            zout.writestr(name, zin.read(info.filename))
    assert torch.load(dst, weights_only=True)["state_dict"]["conv.weight"].shape == (4, 3, 3, 3)


# ---------------------------------------------------------------- TorchScript


class ScriptedNet(torch.nn.Module):
    """Parameters, buffers, a plain tensor attribute (not state), a bias=None Linear, a Sequential, BatchNorm
    (buffers incl. num_batches_tracked), and the three CLIP JIT root scalars (dropped by the reader)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.blocks = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False))
        self.class_embedding = torch.nn.Parameter(torch.randn(4))
        self.register_buffer("scale", torch.tensor([2.0, 3.0]))
        self.attn_mask = torch.triu(torch.full((3, 3), float("-inf")), 1)  # plain attribute: not state
        self.register_buffer("input_resolution", torch.tensor(224))
        self.register_buffer("context_length", torch.tensor(77))
        self.register_buffer("vocab_size", torch.tensor(49408))

    def forward(self, x):
        y = self.bn1(self.conv1(x)).mean((2, 3)) + self.class_embedding
        return self.blocks(y) * self.scale.sum() + self.attn_mask.sum()


class ResidualAttentionBlock(torch.nn.Module):
    # The layout of OpenAI CLIP's block (clip/model.py), scaled down.
    def __init__(self, width, heads, attn_mask):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(width, heads)
        self.ln_1 = torch.nn.LayerNorm(width)
        self.mlp = torch.nn.Sequential(collections.OrderedDict(
            [("c_fc", torch.nn.Linear(width, width * 4)), ("gelu", torch.nn.GELU()),
             ("c_proj", torch.nn.Linear(width * 4, width))]))
        self.ln_2 = torch.nn.LayerNorm(width)
        self.attn_mask = attn_mask

    def forward(self, x):
        mask = self.attn_mask.to(dtype=x.dtype) if self.attn_mask is not None else None
        x = x + self.attn(self.ln_1(x), self.ln_1(x), self.ln_1(x), need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class TinyClipText(torch.nn.Module):
    """A CLIP-text-like tower (token/positional embeddings, resblocks with a causal attn_mask, ln_final,
    text_projection, logit_scale), traced like the OpenAI JIT release, with clip.py's fp16 convert_weights rule
    (Linear / attention weights half, embeddings and norms float)."""

    def __init__(self, ctx=5, width=8, vocab=11):
        super().__init__()
        self.token_embedding = torch.nn.Embedding(vocab, width)
        self.positional_embedding = torch.nn.Parameter(torch.randn(ctx, width))
        mask = torch.full((ctx, ctx), float("-inf")).triu(1)
        self.transformer = torch.nn.Module()
        self.transformer.resblocks = torch.nn.Sequential(*[ResidualAttentionBlock(width, 2, mask) for _ in range(2)])
        self.ln_final = torch.nn.LayerNorm(width)
        self.text_projection = torch.nn.Parameter(torch.randn(width, 4))
        self.logit_scale = torch.nn.Parameter(torch.tensor(4.6052))
        self.register_buffer("context_length", torch.tensor(ctx))
        self.register_buffer("vocab_size", torch.tensor(vocab))

    def forward(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer.resblocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection * self.logit_scale.exp()


def write_torchscript_fixtures():
    net = ScriptedNet().eval()
    scripted = torch.jit.script(net)
    scripted.save(path("torchscript_scripted.pt"))
    sd = collections.OrderedDict((k, v) for k, v in scripted.state_dict().items()
                                 if k not in ("input_resolution", "context_length", "vocab_size"))
    save_expected("torchscript_scripted.expected.safetensors", sd)

    text = TinyClipText().eval()
    for m in text.modules():  # clip.model.convert_weights: fp16 for conv/linear/attention projections
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            m.weight.data = m.weight.data.half()
            if m.bias is not None:
                m.bias.data = m.bias.data.half()
        if isinstance(m, torch.nn.MultiheadAttention):
            m.in_proj_weight.data = m.in_proj_weight.data.half()
            m.in_proj_bias.data = m.in_proj_bias.data.half()
    text.text_projection.data = text.text_projection.data.half()
    # Trace in float32 (CPU half kernels are not needed), then restore the half tensors into the traced module.
    ref = {k: v.clone() for k, v in text.state_dict().items()}
    text32 = TinyClipText().eval()
    text32.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ref.items()})
    traced = torch.jit.trace(text32, torch.tensor([[1, 2, 10, 0, 0]]))
    with torch.no_grad():
        for k, v in traced.state_dict().items():
            if ref[k].dtype != v.dtype:
                parent = traced
                *mods, leaf = k.split(".")
                for m in mods:
                    parent = getattr(parent, m)
                setattr(parent, leaf, torch.nn.Parameter(ref[k].clone(), requires_grad=v.requires_grad)
                        if isinstance(getattr(parent, leaf), torch.nn.Parameter) else ref[k].clone())
    traced.save(path("torchscript_traced_clip_text.pt"))
    loaded = torch.jit.load(path("torchscript_traced_clip_text.pt"))
    sd = collections.OrderedDict((k, v) for k, v in loaded.state_dict().items()
                                 if k not in ("input_resolution", "context_length", "vocab_size"))
    assert sd["transformer.resblocks.0.attn.in_proj_weight"].dtype == torch.float16
    assert sd["token_embedding.weight"].dtype == torch.float32
    save_expected("torchscript_traced_clip_text.expected.safetensors", sd)


# ---------------------------------------------------------------- hostile and foreign files


def zip_records(name, records):
    """A torch-like zip (top folder `name`, stored) holding the given {relative name: bytes}."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for rel, data in records.items():
            z.writestr(f"{name}/{rel}", data)
    return out.getvalue()


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def legacy_stream(main_pickle):
    """A legacy torch.save stream (magic, protocol 1001, sys_info) around a hand-made main pickle, no storages."""
    magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"
    proto = b"\x80\x02M\xe9\x03."
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    return magic + proto + sys_info + main_pickle + pickle.dumps([], protocol=2)


def write_hostile_fixtures():
    # os.system('echo pwned') via GLOBAL + REDUCE, as the object of a legacy stream
    evil_os = b"\x80\x02cos\nsystem\nq\x00" + binunicode("echo pwned") + b"\x85R."
    with open(path("evil_os_system_legacy.pt"), "wb") as f:
        f.write(legacy_stream(evil_os))
    # builtins.eval('print(1)') as data.pkl of a zip
    evil_eval = b"\x80\x02cbuiltins\neval\n" + binunicode("print(1)") + b"\x85R."
    with open(path("evil_builtins_eval.pt"), "wb") as f:
        f.write(zip_records("evil_builtins_eval", {"data.pkl": evil_eval, "byteorder": b"little",
                                                   "version": b"3\n"}))
    # A real tensor 'w' next to posix.system('id') inside a zip's data.pkl (refused even as a sibling)
    tensor = b"ctorch._utils\n_rebuild_tensor_v2\n"
    evil_posix = (b"\x80\x02}q\x00(" + binunicode("w") + tensor + b"((" + binunicode("storage") +
                  b"ctorch\nFloatStorage\n" + binunicode("0") + binunicode("cpu") + b"K\x02tQK\x00K\x02\x85K\x01\x85"
                  b"\x89ccollections\nOrderedDict\n)RtR" + binunicode("evil") + b"cposix\nsystem\n" +
                  binunicode("id") + b"\x85Ru.")
    with open(path("evil_posix_system.pt"), "wb") as f:
        f.write(zip_records("evil_posix_system", {"data.pkl": evil_posix, "byteorder": b"little",
                                                  "data/0": struct.pack("<2f", 1.0, 2.0), "version": b"3\n"}))
    # The same layout with a harmless unknown global in place of posix.system: loads 'w', skips 'evil'.
    benign = evil_posix.replace(b"cposix\nsystem\n", b"cargparse\nNamespace\n")
    with open(path("unknown_global_sibling.pt"), "wb") as f:
        f.write(zip_records("unknown_global_sibling", {"data.pkl": benign, "byteorder": b"little",
                                                       "data/0": struct.pack("<2f", 1.0, 2.0), "version": b"3\n"}))

    # A legacy tar checkpoint (PyTorch <= 0.3 layout; contents are placeholders): refused with a how-to.
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for member in ("sys_info", "pickle", "tensors", "storages"):
            data = pickle.dumps(member, protocol=2)
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    with open(path("legacy_tar.pth"), "wb") as f:
        f.write(out.getvalue())

    # Not a weights file at all: a small JPEG.
    from PIL import Image
    Image.fromarray((np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8)).save(
        path("not_weights.jpg"), quality=80)


# ---------------------------------------------------------------- writer input


def write_writer_input():
    """Input of the C++ writer test: wsdol writes writer_expected.pt from it (see README.md), and
    check_torch_load.py verifies that torch.load(weights_only=True) reads that file bit-exactly."""
    t = collections.OrderedDict()
    t["a.f32"] = torch.randn(2, 3)
    t["b.f64"] = torch.randn(3, dtype=torch.float64)
    t["c.f16"] = torch.randn(2, 2).half()
    t["d.bf16"] = torch.randn(4).bfloat16()
    t["e.i64"] = torch.tensor([[1 << 40, -1]], dtype=torch.int64)
    t["f.i32"] = torch.tensor([-7, 8, 9], dtype=torch.int32)
    t["g.u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    t["h.bool"] = torch.tensor([True, False, True])
    t["i.scalar"] = torch.tensor(-0.5)
    t["j.zero"] = torch.zeros(0, 4)
    t["k.5d"] = torch.randn(1, 2, 1, 2, 3)
    t["l.unicode_\u00e9"] = torch.ones(1)
    save_file(t, path("writer_input.safetensors"))


if __name__ == "__main__":
    write_state_dict_fixtures()
    write_torchscript_fixtures()
    write_hostile_fixtures()
    write_writer_input()
    for name in sorted(os.listdir(HERE)):
        size = os.path.getsize(path(name))
        assert size < 200_000, (name, size)
        print(f"{size:8d}  {name}")
