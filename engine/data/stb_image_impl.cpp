// stb_image_impl.cpp — the one translation unit that compiles stb_image (Debian libstb-dev, <stb/stb_image.h>):
// JPEG/PNG/BMP decoding for image_io.cpp and stb's zlib inflater (stbi_zlib_decode_malloc) for wsdol's own PNG
// chunk reader (raw palette indices, which stb_image cannot return).
// MERGE NOTE: exactly one STB_IMAGE_IMPLEMENTATION may exist in the program; if another file defines it too
// (e.g. tokenizer/stb_image_impl.cpp), delete one of the two.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
