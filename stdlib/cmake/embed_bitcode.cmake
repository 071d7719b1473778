# Writes a C++ source that embeds a binary file (cmake -P; IN, OUT, SYMBOL on the command line):
#   extern "C" const unsigned char <SYMBOL>[];  extern "C" const size_t <SYMBOL>_size;
# Portable (no xxd, no .incbin).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Break the initialiser into lines of 32 bytes (160 characters).
string(REGEX REPLACE "((0x..,){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}"
  "// Generated from ${IN} by stdlib/cmake/embed_bitcode.cmake. Do not edit.\n"
  "#include <cstddef>\n"
  "extern \"C\" alignas(16) const unsigned char ${SYMBOL}[] = {\n${bytes}\n};\n"
  "extern \"C\" const size_t ${SYMBOL}_size = ${size};\n")
