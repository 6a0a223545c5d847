# check_torch_load.py — verifies that PyTorch reads a checkpoint written by wsdol (weights::write_torch_zip,
# `wsdol convert ... x.pt`) bit-exactly: torch.load(path, weights_only=True) must give an OrderedDict whose
# tensors equal (dtype, shape, bytes) those of a reference safetensors file.
#
#   python check_torch_load.py FILE.pt REFERENCE.safetensors [FILE.pt REFERENCE.safetensors ...]
#
# The committed writer_expected.pt / writer_expected_zip64.pt were produced and checked with (see README.md):
#   wsdol convert writer_input.safetensors writer_expected.pt
#   wsdol convert writer_input.safetensors writer_expected_zip64.pt --zip64
#   python check_torch_load.py writer_expected.pt writer_input.safetensors writer_expected_zip64.pt writer_input.safetensors
import collections
import sys
import zipfile

import torch
from safetensors.torch import load_file


def check(pt_path, reference_path):
    ref = load_file(reference_path)
    got = torch.load(pt_path, weights_only=True)
    assert isinstance(got, collections.OrderedDict), type(got)
    assert set(got) == set(ref), (sorted(got), sorted(ref))
    for name, r in ref.items():
        g = got[name]
        assert g.dtype == r.dtype and g.shape == r.shape, (name, g.dtype, r.dtype, g.shape, r.shape)
        assert g.is_contiguous(), name
        gb = g.contiguous().view(torch.uint8) if g.numel() and g.dim() else g.reshape(-1).view(torch.uint8)
        rb = r.contiguous().view(torch.uint8) if r.numel() and r.dim() else r.reshape(-1).view(torch.uint8)
        assert torch.equal(gb, rb), name
    # The zip layout PyTorch relies on: one top folder, stored records, storages 64-byte aligned.
    with zipfile.ZipFile(pt_path) as z, open(pt_path, "rb") as f:
        data = f.read()
        top = {i.filename.split("/")[0] for i in z.infolist()}
        assert len(top) == 1, top
        for i in z.infolist():
            assert i.compress_type == zipfile.ZIP_STORED, i.filename
            if "/data/" in i.filename:
                name_len, extra_len = int.from_bytes(data[i.header_offset + 26:i.header_offset + 28], "little"), \
                    int.from_bytes(data[i.header_offset + 28:i.header_offset + 30], "little")
                assert (i.header_offset + 30 + name_len + extra_len) % 64 == 0, i.filename
            assert z.read(i.filename) is not None  # CRC checked by zipfile
    print(f"ok: {pt_path}: {len(ref)} tensors equal to {reference_path} (torch {torch.__version__})")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit(__doc__ if __doc__ else "usage: check_torch_load.py FILE.pt REFERENCE.safetensors ...")
    for i in range(0, len(args), 2):
        check(args[i], args[i + 1])
