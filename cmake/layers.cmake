# layers.cmake — the layers of wsdol, lowest first: each may include and link only itself and the layers below.
# Read by CMakeLists.txt (one library per layer) and by check_layers.cmake (the include check).
#   engine  tensors, autograd, ops and their kernels, modules, optimizers
#   io      files and data: checkpoints, weights formats, tokenizer, images and datasets, metrics
#   models  backbones and methods behind the method seam
#   runner  training loop, inference, pipelines of stages (never names a method)
#   apps    the wsdol CLI
set(WSDOL_LAYER_NAMES engine io models runner apps)
set(WSDOL_LAYER_engine engine/core engine/tensor engine/autograd engine/ops engine/nn engine/optim kernels)
set(WSDOL_LAYER_io engine/io engine/data engine/eval tokenizer weights)
set(WSDOL_LAYER_models models)
set(WSDOL_LAYER_runner runner)
set(WSDOL_LAYER_apps apps)
