# Post-processes the disassembled stdlib module (cmake -P, IN and OUT set on the command line):
#  - drops @llvm.global_ctors and @llvm.used: Boost.Math's "initializer" objects (kept alive
#    through both) only pre-warm function-local statics, which are constant-initialised in
#    double precision (the test stdlib_bitcode_self_contained checks that no guarded static
#    remains), and <iostream>'s ios_base::Init is never used; without them, linking the
#    stdlib pulls nothing into a model that the model does not call;
#  - drops the target-cpu / target-features / tune-cpu attributes clang puts on every
#    function, so the kernels are optimised for the host CPU that haloc targets (the model's
#    own functions carry none) instead of for baseline x86-64.
file(READ "${IN}" text)
string(REGEX REPLACE "@llvm\\.(global_ctors|used|compiler\\.used) = [^\n]*\n" "" text "${text}")
string(REGEX REPLACE " \"target-cpu\"=\"[^\"]*\"" "" text "${text}")
string(REGEX REPLACE " \"target-features\"=\"[^\"]*\"" "" text "${text}")
string(REGEX REPLACE " \"tune-cpu\"=\"[^\"]*\"" "" text "${text}")
file(WRITE "${OUT}" "${text}")
