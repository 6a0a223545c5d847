// upward.h — a deliberate layering error for the LayerCheck test: an engine header that includes a model.
#pragma once
#include "engine/core/error.h"
#include "models/method.h"
