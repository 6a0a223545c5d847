// stb_impl.cpp — the one translation unit that compiles stb_image_write (Debian libstb-dev, <stb/...>).
// wsdol uses only its zlib compressor (stbi_zlib_compress) for the PNG writer in png_write.cpp; the PNG chunks,
// filters and CRCs are written by wsdol itself because stb cannot write palette PNGs.
// (stb_image, the decoder, is compiled in stb_image_impl.cpp.)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
