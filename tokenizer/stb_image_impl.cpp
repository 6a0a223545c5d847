// stb_image_impl.cpp — the one translation unit of wsdol that compiles stb_image's implementation (Debian
// libstb-dev, <stb/stb_image.h>). The tokenizer uses only its zlib inflater (stbi_zlib_decode_noheader_malloc,
// tokenizer/gzip.cpp); other users of stb_image include the header without STB_IMAGE_IMPLEMENTATION.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO_WARNINGS
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
