// cam_npy.h — the per-image CAM file IRNet's stages read (jiwoon-ahn/irn step/make_cam.py, CVI-SZU/CLIMS
// step/make_clims.py): `np.save(<id>.npy, {"keys": ..., "cam": ..., "high_res": ...})`, i.e. a .npy holding a 0-d
// object array whose one element is a pickled dict, read back with np.load(allow_pickle=True).item().
//   keys      (K) int64: the image's GT classes (0-based foreground ids), ascending
//   cam       (K, ceil(H/4), ceil(W/4)) float32: the strided maps (IRNet's input)
//   high_res  (K, H, W) float32: the full-resolution maps (seed evaluation, cam_to_ir_label)
// The reference stores "keys" and "cam" as torch tensors (torch pickles); here all three are numpy arrays
// (INFERRED: readable without torch; IRNet's cam_to_ir_label.py and eval_cam.py work unchanged, CLIMS's
// make_sem_seg_labels.py needs torch.from_numpy on "cam" before .cuda()). The pickle names
// numpy.core.multiarray._reconstruct, which numpy 1.x and 2.x both load.
#pragma once
#include <string>

#include "engine/tensor/tensor.h"

namespace wsdol::data {

struct IrnCamFile {
    Tensor keys;      // (K) i64
    Tensor cam;       // (K, h, w) f32
    Tensor high_res;  // (K, H, W) f32
};

std::string irn_cam_npy_bytes(const IrnCamFile& f);
void write_irn_cam_npy(const std::string& path, const IrnCamFile& f);  // atomic

}  // namespace wsdol::data
