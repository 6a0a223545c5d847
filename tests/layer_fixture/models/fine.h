// fine.h — a downward include (allowed) in the LayerCheck fixture.
#pragma once
#include "engine/core/upward.h"
